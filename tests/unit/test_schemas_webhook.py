"""Paymend webhook events: both failure formats, lenient reading, unknown fields kept (masked)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

import schemas
from tests.unit.schema_samples import PAN, sample

RECEIVED = datetime(2025, 11, 6, 9, 0, 1, tzinfo=UTC)


def _body(**payment: Any) -> dict[str, Any]:
    data = sample(schemas.PaymendWebhookEvent)
    del data["receivedAt"], data["schemaVersion"]
    data["payment"].update(payment)
    data["payment"] = {k: v for k, v in data["payment"].items() if v is not None}
    return data


def _event(body: dict[str, Any]) -> schemas.PaymendWebhookEvent:
    return schemas.PaymendWebhookEvent.from_paymend_body(orjson.dumps(body), RECEIVED)


def test_new_nested_failure_format() -> None:
    failure = _event(_body()).payment.resolved_failure()
    assert failure == schemas.Failure(failure_code="INSUFFICIENT_FUNDS", provider_failure_code="51")


def test_old_top_level_failure_format() -> None:
    event = _event(_body(failure=None, failureCode="DO_NOT_HONOR", failureMessage="Do not honour"))
    assert event.payment.resolved_failure() == schemas.Failure(failure_code="DO_NOT_HONOR")
    assert event.payment.failure_message == "Do not honour"
    assert orjson.loads(event.encode())["payment"]["failureCode"] == "DO_NOT_HONOR"


def test_both_failure_formats_merge_with_the_nested_one_first() -> None:
    nested_code_only = _event(_body(failure={"providerFailureCode": "51"}, failureCode="OLD_CODE"))
    assert nested_code_only.payment.resolved_failure() == schemas.Failure(
        failure_code="OLD_CODE", provider_failure_code="51"
    )
    both = _event(_body(failureCode="OLD_CODE"))
    assert both.payment.resolved_failure() == schemas.Failure(
        failure_code="INSUFFICIENT_FUNDS", provider_failure_code="51"
    )


def test_no_failure_when_neither_format_is_present() -> None:
    event = _event(_body(failure=None, status="CAPTURED"))
    assert event.payment.resolved_failure() is None


def test_unknown_fields_are_kept_at_both_levels_and_written_back() -> None:
    event = _event(_body())
    assert event.extra == {"deliveryAttempt": 2}
    assert event.payment.extra is not None
    assert "transactions" in event.payment.extra
    assert orjson.loads(event.encode()) == sample(schemas.PaymendWebhookEvent) | {
        "receivedAt": "2025-11-06T09:00:01Z"
    }


def test_card_data_in_unknown_fields_is_masked() -> None:
    body = _body(paymentMethod={"type": "CARD", "card": {"number": PAN, "cvv": "123", "bin": "41111111"}})
    body["note"] = f"customer card {PAN}"
    encoded = _event(body).encode().decode()
    assert PAN not in encoded
    assert '"cvv":"***"' in encoded
    assert '"bin":"41111111"' in encoded


def test_reading_is_lenient_where_paymend_docs_disagree() -> None:
    body = _body(status="Captured", amount="12997", createdAt="2025-11-05T14:22:11", failure=None)
    body["eventType"] = "payment_captured"
    event = _event(body)
    assert event.event_type is schemas.WebhookEventType.PAYMENT_CAPTURED
    assert event.payment.status is schemas.PaymentStatus.CAPTURED
    assert event.payment.amount == 12997
    assert event.payment.created_at == datetime(2025, 11, 5, 14, 22, 11, tzinfo=UTC)
    written = orjson.loads(event.encode())
    assert (written["eventType"], written["payment"]["status"], written["payment"]["amount"]) == (
        "PAYMENT_CAPTURED",
        "CAPTURED",
        12997,
    )
    assert written["payment"]["createdAt"] == "2025-11-05T14:22:11Z"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"eventType": "PAYMENT_PARTIALLY_REFUNDED"}, "eventType", "must be one of PAYMENT_CREATED, "),
        ({"eventId": ""}, "eventId", "must be a string of 1-255"),
        ({"payment": {"paymentId": "pm"}}, "payment.merchantReference", "is required"),
        ({"payment": "pm_abc"}, "payment", "must be an object"),
    ],
)
def test_invalid_webhooks_name_the_field(change: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(schemas.InvalidFieldError) as caught:
        _event(_body() | change)
    assert caught.value.field == f"PaymendWebhookEvent.{field}"
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize("amount", ["12.5", "-3", "x", 1.5])
def test_amount_must_still_be_a_whole_number(amount: Any) -> None:
    with pytest.raises(schemas.InvalidFieldError, match=r"^PaymendWebhookEvent\.payment\.amount: "):
        _event(_body(amount=amount))


@pytest.mark.parametrize("body", [b"[]", b"{", b"\xff"])
def test_a_body_that_is_not_a_json_object_is_undecodable(body: bytes) -> None:
    with pytest.raises(schemas.UndecodableError):
        schemas.PaymendWebhookEvent.from_paymend_body(body, RECEIVED)


def test_key_is_the_merchant_reference() -> None:
    assert _event(_body()).message_key == "PAY-1001"


@pytest.mark.parametrize("event_type", list(schemas.WebhookEventType))
def test_each_event_type_names_its_status(event_type: schemas.WebhookEventType) -> None:
    expected = "PENDING" if event_type is schemas.WebhookEventType.PAYMENT_CREATED else event_type[8:]
    assert event_type.status == expected
