"""PaymentStatusChanged: deterministic event IDs, the `recovered` rule, and no card data by design."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

import schemas
from schemas.fieldspec import is_record, wire_fields
from schemas.jsonschema import render
from schemas.masking import is_card_number_key, is_security_code_key
from schemas.status import STATUS_EVENT_NAMESPACE
from tests.unit.schema_samples import sample

Status = schemas.PaymentStatus
AT = datetime(2025, 11, 6, 9, tzinfo=UTC)


def _create(**overrides: Any) -> schemas.PaymentStatusChanged:
    fields: dict[str, Any] = {
        "payment_id": "PAY-1",
        "new_status": Status.CAPTURED,
        "cause": schemas.StatusCause.WEBHOOK,
        "amount": 4999,
        "currency": "EUR",
        "occurred_at": AT,
        "paymend_payment_id": "pm_1",
    }
    return schemas.PaymentStatusChanged.create(**(fields | overrides))


def test_the_namespace_is_what_the_docs_say() -> None:
    assert (
        uuid.uuid5(uuid.NAMESPACE_URL, "urn:paymend-streams:PaymentStatusChanged") == STATUS_EVENT_NAMESPACE
    )
    assert str(STATUS_EVENT_NAMESPACE) in render(schemas.PaymentStatusChanged)


def test_event_id_is_reproducible_from_the_documented_recipe() -> None:
    expected = str(uuid.uuid5(STATUS_EVENT_NAMESPACE, "PAY-1\npm_1\nCAPTURED"))
    assert _create().event_id == expected
    assert schemas.status_event_id("PAY-1", Status.CAPTURED) == str(
        uuid.uuid5(STATUS_EVENT_NAMESPACE, "PAY-1\n\nCAPTURED")
    )


def test_event_id_ignores_how_and_when_the_change_was_learnt() -> None:
    first = _create()
    replay = _create(
        cause=schemas.StatusCause.RECONCILIATION,
        occurred_at=AT + timedelta(hours=1),
        previous_status=Status.AUTHORIZED,
        order_id="ORD-1",
    )
    assert replay.event_id == first.event_id


@pytest.mark.parametrize(
    "change",
    [{"payment_id": "PAY-2"}, {"new_status": Status.REFUNDED}, {"paymend_payment_id": "pm_2"}],
    ids=["payment", "status", "paymend-payment"],
)
def test_event_id_changes_with_the_transition(change: dict[str, Any]) -> None:
    assert _create(**change).event_id != _create().event_id


@pytest.mark.parametrize("status", list(Status))
def test_recovered_is_derived_from_the_new_status(status: Status) -> None:
    event = _create(new_status=status)
    assert event.recovered is (status in (Status.AUTHORIZED, Status.CAPTURED))


def test_an_inconsistent_recovered_flag_is_rejected() -> None:
    data = sample(schemas.PaymentStatusChanged) | {"recovered": True}  # newStatus FAILED
    with pytest.raises(schemas.InvalidFieldError) as caught:
        schemas.decode(schemas.PaymentStatusChanged, orjson.dumps(data))
    assert str(caught.value) == (
        "PaymentStatusChanged.recovered: must be true exactly when newStatus is AUTHORIZED or CAPTURED"
    )
    with pytest.raises(schemas.InvalidFieldError, match=r"\.recovered: "):
        _create().derive(recovered=False)


def test_previous_and_new_status_must_differ() -> None:
    with pytest.raises(
        schemas.InvalidFieldError, match=r"^PaymentStatusChanged\.previousStatus: must differ"
    ):
        _create(previous_status=Status.CAPTURED)


@pytest.mark.parametrize("event_id", ["not-a-uuid", "8159D199-F8E8-5D92-95AE-BF8FD2113CB8"])
def test_event_id_must_be_a_lower_case_uuid(event_id: str) -> None:
    data = sample(schemas.PaymentStatusChanged) | {"eventId": event_id}
    with pytest.raises(
        schemas.InvalidFieldError, match=r"^PaymentStatusChanged\.eventId: must be a lower-case UUID"
    ):
        schemas.decode(schemas.PaymentStatusChanged, orjson.dumps(data))


def test_the_downstream_contract_has_no_place_for_card_data() -> None:
    for field in wire_fields(schemas.PaymentStatusChanged):
        assert not is_record(field.type), field.wire
        assert not field.spec.unknown
        assert not is_card_number_key(field.wire)
        assert not is_security_code_key(field.wire)
    for cls in (schemas.PaymentStatusChanged, schemas.DeclineSummary):
        assert "card" not in {f.wire for f in wire_fields(cls)}


def test_wire_order_follows_the_contract() -> None:
    assert [f.wire for f in wire_fields(schemas.PaymentStatusChanged)] == [
        "schemaVersion", "eventId", "paymentId", "orderId", "paymendPaymentId", "previousStatus",
        "newStatus", "amount", "currency", "failureCode", "providerFailureCode", "firstDeclineCode",
        "storeId", "occurredAt", "recovered", "cause",
    ]  # fmt: skip
