"""Explicit validation: every error names its wire field and says what was expected, never the value."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

import schemas
from schemas.fieldspec import wire_fields
from tests.unit.schema_samples import CVV, PAN, SAMPLES, minimal_decline, sample

#: The required wire fields of each contract: the contract itself, pinned so a change is deliberate.
REQUIRED = {
    schemas.DeclineEvent: {
        "paymentId", "orderId", "amount", "currency", "card", "consumer", "billing", "goodsType",
        "storeId", "initiatedBy", "provider", "providerFailureCode", "attemptNumber", "occurredAt",
    },
    schemas.DeclineSummary: {
        "schemaVersion", "paymentId", "orderId", "amount", "currency", "storeId", "goodsType",
        "initiatedBy", "provider", "providerFailureCode", "attemptNumber", "occurredAt",
    },
    schemas.OrderCancelled: {"orderId", "reason", "occurredAt"},
    schemas.PaymentSettledElsewhere: {"paymentId", "method", "occurredAt"},
    schemas.PaymendWebhookEvent: {"schemaVersion", "eventId", "eventType", "payment", "receivedAt"},
    schemas.PaymentStatusChanged: {
        "schemaVersion", "eventId", "paymentId", "newStatus", "amount", "currency", "occurredAt",
        "recovered", "cause",
    },
    schemas.DeadLetter: {
        "schemaVersion", "sourceTopic", "partition", "offset", "errorClass", "reason", "payloadFormat",
        "failedAt",
    },
}  # fmt: skip


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `data` with `a.b[0].c` set to `value` (or removed when value is `...`)."""
    out = copy.deepcopy(data)
    node: Any = out
    parts = path.replace("[", ".[").split(".")
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return out


def _decode_error(cls: type[schemas.ContractRecord], data: dict[str, Any]) -> schemas.SchemaError:
    with pytest.raises(schemas.SchemaError) as caught:
        schemas.decode(cls, orjson.dumps(data))
    return caught.value


def _required_cases() -> Iterator[Any]:
    for cls in schemas.CONTRACTS:
        for wire in sorted(REQUIRED[cls]):
            yield pytest.param(cls, wire, id=f"{cls.__name__}.{wire}")


@pytest.mark.parametrize("cls", schemas.CONTRACTS, ids=lambda c: c.__name__)
def test_required_fields_are_the_contract(cls: type[schemas.ContractRecord]) -> None:
    version_required = cls.VERSION_REQUIRED_ON_WIRE
    required = {f.wire for f in wire_fields(cls) if not f.optional and not f.spec.version}
    assert required | ({"schemaVersion"} if version_required else set()) == REQUIRED[cls]


@pytest.mark.parametrize(("cls", "wire"), list(_required_cases()))
@pytest.mark.parametrize("how", ["missing", "null"])
def test_a_missing_required_field_is_named(cls: type[schemas.ContractRecord], wire: str, how: str) -> None:
    error = _decode_error(cls, _set(sample(cls), wire, ... if how == "missing" else None))
    assert isinstance(error, schemas.InvalidFieldError)
    assert (error.field, error.reason) == (f"{cls.__name__}.{wire}", "is required")
    assert str(error) == f"{cls.__name__}.{wire}: is required"


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("amount", 0, "must be an integer >= 1"),
        ("amount", "100", "must be an integer >= 1"),
        ("amount", 12.5, "must be an integer >= 1"),
        ("amount", True, "must be an integer >= 1"),
        ("currency", "usd", "must be an ISO 4217 code of 3 upper-case letters, e.g. EUR"),
        ("goodsType", "SERVICES", "must be one of PHYSICAL, DIGITAL, MIXED"),
        ("initiatedBy", "consumer", "must be one of CONSUMER, MERCHANT"),
        (
            "occurredAt",
            "2025-11-05T14:22:10",
            "must be an ISO 8601 date-time with a UTC offset, e.g. 2025-11-05T14:22:10Z",
        ),
        (
            "occurredAt",
            "yesterday",
            "must be an ISO 8601 date-time with a UTC offset, e.g. 2025-11-05T14:22:10Z",
        ),
        (
            "occurredAt",
            "2025-02-30T10:00:00Z",
            "must be an ISO 8601 date-time with a UTC offset, e.g. 2025-11-05T14:22:10Z",
        ),
        ("attemptNumber", 0, "must be an integer >= 1"),
        ("paymentId", "", "must be a string of 1-255 characters without control characters"),
        ("paymentId", "PAY\n1", "must be a string of 1-255 characters without control characters"),
        ("paymentId", "P" * 256, "must be a string of 1-255 characters without control characters"),
        ("paymentId", 1001, "must be a string of 1-255 characters without control characters"),
        ("schemaVersion", 2, "must be the integer 1"),
        ("card", "4111", "must be an object"),
        ("card.number", "4111-1111-1111-1111", "must be a string of 12-19 digits"),
        ("card.expiryMonth", "13", "must be a month 01-12"),
        ("card.expiryYear", "30", "must be a 4-digit year"),
        ("card.cvv", "12", "must be a string of 3-4 digits"),
        ("consumer.email", "not-an-address", "must be an e-mail address"),
        ("billing.address.country", "USA", "must be an ISO 3166-1 alpha-2 code of 2 upper-case letters"),
        ("shipping.address", None, "is required"),
        ("productItems", [], "must be an array of at least 1 item(s)"),
        ("productItems", {}, "must be an array of at least 1 item(s)"),
        ("productItems[0].quantity", 0, "must be an integer >= 1"),
        ("productItems[0].goodsType", "MIXED", "must be one of PHYSICAL, DIGITAL"),
    ],
)
def test_an_invalid_decline_field_is_named_with_what_was_expected(path: str, value: Any, reason: str) -> None:
    error = _decode_error(schemas.DeclineEvent, _set(sample(schemas.DeclineEvent), path, value))
    assert isinstance(error, schemas.InvalidFieldError)
    assert error.field == f"DeclineEvent.{path}"
    assert error.reason == reason
    assert error.record == "DeclineEvent"


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b'{"paymentId": "PAY-1"', b"\xff\xfe{}", b"[]", b'"text"', b"42", b"null", None],
)
def test_bytes_that_are_not_a_json_object_are_undecodable(raw: bytes | None) -> None:
    with pytest.raises(schemas.UndecodableError) as caught:
        schemas.decode(schemas.DeclineEvent, raw)
    assert caught.value.field == "DeclineEvent"


@pytest.mark.parametrize("goods", ["PHYSICAL", "MIXED"])
def test_shipping_is_required_unless_digital(goods: str) -> None:
    data = _set(_set(sample(schemas.DeclineEvent), "goodsType", goods), "shipping", ...)
    error = _decode_error(schemas.DeclineEvent, data)
    assert str(error) == "DeclineEvent.shipping: is required when goodsType is PHYSICAL or MIXED"
    assert schemas.decode(schemas.DeclineEvent, orjson.dumps(minimal_decline())).shipping is None


def test_schema_version_may_be_omitted_by_merchants_only() -> None:
    for cls in schemas.CONTRACTS:
        data = _set(sample(cls), "schemaVersion", ...)
        if cls.VERSION_REQUIRED_ON_WIRE:
            assert str(_decode_error(cls, data)) == f"{cls.__name__}.schemaVersion: is required"
        else:
            assert schemas.decode(cls, orjson.dumps(data)).schema_version == 1


def test_unknown_fields_are_ignored_on_merchant_records() -> None:
    data = {**sample(schemas.OrderCancelled), "newField": {"x": 1}}
    record = schemas.decode(schemas.OrderCancelled, orjson.dumps(data))
    assert "newField" not in orjson.loads(record.encode())


def test_records_built_in_python_are_checked_too() -> None:
    good = schemas.decode(schemas.DeclineEvent, orjson.dumps(sample(schemas.DeclineEvent)))
    with pytest.raises(schemas.InvalidFieldError, match=r"^DeclineEvent\.amount: must be an integer >= 1$"):
        good.derive(amount=-1)
    with pytest.raises(schemas.InvalidFieldError, match=r"^DeclineEvent\.occurredAt: must be an ISO 8601"):
        good.derive(occurred_at=datetime(2025, 1, 1))  # naive
    with pytest.raises(schemas.InvalidFieldError, match=r"^DeclineEvent\.goodsType: must be one of"):
        good.derive(goods_type="PHYSICAL-ish")
    normalised = good.derive(goods_type="DIGITAL")
    assert normalised.goods_type is schemas.GoodsType.DIGITAL


def test_dicts_given_for_nested_records_in_python_are_validated_records() -> None:
    good = schemas.decode(schemas.DeclineEvent, orjson.dumps(sample(schemas.DeclineEvent)))
    data = sample(schemas.DeclineEvent)
    rebuilt = good.derive(card=data["card"], product_items=data["productItems"])
    assert isinstance(rebuilt.card, schemas.Card)
    assert isinstance(rebuilt.product_items[0], schemas.ProductItem)
    assert rebuilt == good
    with pytest.raises(schemas.InvalidFieldError, match=r"^DeclineEvent\.card\.expiryMonth: must be a month"):
        good.derive(card=data["card"] | {"expiryMonth": "00"})
    with pytest.raises(schemas.InvalidFieldError, match=r"^DeclineEvent\.productItems\[0\]\.quantity: "):
        good.derive(product_items=[data["productItems"][0] | {"quantity": 0}])


def test_faust_loads_goes_through_validation() -> None:
    data = _set(sample(schemas.DeclineEvent), "amount", -5)
    with pytest.raises(schemas.InvalidFieldError, match=r"^DeclineEvent\.amount: "):
        schemas.DeclineEvent.loads(orjson.dumps(data))
    with pytest.raises(schemas.InvalidFieldError):
        schemas.DeclineEvent.from_data({"paymentId": "p"})


def test_schema_errors_survive_pickling() -> None:
    error = schemas.InvalidFieldError("DeclineEvent.amount", "must be an integer >= 1")
    copy_ = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (type(copy_), copy_.field, copy_.reason) == (schemas.InvalidFieldError, error.field, error.reason)


# --- card data never reaches an error message -------------------------------------------------


def _leaf_paths(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_paths(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaf_paths(item, f"{prefix}[{index}]")
    else:
        yield prefix


_CARD_VALUES = [PAN, int(PAN), "4111 1111 1111 1111", {"number": PAN, "cvv": CVV}, [PAN]]


@pytest.mark.parametrize("path", list(_leaf_paths(sample(schemas.DeclineEvent))))
@pytest.mark.parametrize("card_value", _CARD_VALUES, ids=["str", "int", "spaced", "object", "array"])
def test_card_data_put_in_any_field_never_appears_in_the_error(path: str, card_value: Any) -> None:
    data = _set(sample(schemas.DeclineEvent), path, card_value)
    try:
        schemas.decode(schemas.DeclineEvent, orjson.dumps(data))
    except schemas.SchemaError as error:
        message = f"{error} {error!r} {error.args}"
        assert "4111" not in message
        assert CVV not in message


@pytest.mark.parametrize("cvv", ["99999", "1", "abcd", PAN])
def test_an_invalid_cvv_is_not_echoed(cvv: str) -> None:
    error = _decode_error(schemas.DeclineEvent, _set(sample(schemas.DeclineEvent), "card.cvv", cvv))
    assert str(error) == "DeclineEvent.card.cvv: must be a string of 3-4 digits"


def test_card_data_in_undecodable_bytes_never_appears_in_the_error() -> None:
    raw = orjson.dumps(sample(schemas.DeclineEvent))[:-40]
    with pytest.raises(schemas.UndecodableError) as caught:
        schemas.decode(schemas.DeclineEvent, raw)
    assert PAN not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_every_sample_decodes() -> None:
    for cls in SAMPLES:
        assert isinstance(schemas.decode(cls, orjson.dumps(sample(cls))), cls)


def test_a_decoded_record_is_the_record_its_init_builds() -> None:
    # Decoding builds records without faust's __init__ (checked once): the result must be what
    # building them in Python gives, nested records, defaults and masked free text included.
    cases = [(cls, sample(cls)) for cls in SAMPLES] + [(schemas.DeclineEvent, minimal_decline())]
    for cls, data in cases:
        decoded = schemas.decode(cls, orjson.dumps(data))
        built = cls(**{f.name: getattr(decoded, f.name) for f in wire_fields(cls)})
        assert _stored(decoded) == _stored(built), cls.__name__
        assert decoded.encode() == built.encode(), cls.__name__


def _stored(record: schemas.WireRecord) -> dict[str, Any]:
    """The record's stored field values (without faust's note of the fields read so far)."""
    return {k: v for k, v in record.__dict__.items() if k != "__evaluated_fields__"}


def test_a_decoded_record_with_a_field_out_of_range_is_refused_at_its_path() -> None:
    # the range checks run on the direct build too, with the nested path
    data = _set(sample(schemas.DeclineEvent), "card.expiryMonth", "13")
    assert str(_decode_error(schemas.DeclineEvent, data)).startswith("DeclineEvent.card.expiryMonth: must be")
    data = _set(sample(schemas.DeclineEvent), "amount", 0)
    assert str(_decode_error(schemas.DeclineEvent, data)) == "DeclineEvent.amount: must be an integer >= 1"


def test_received_at_must_be_aware() -> None:
    body = orjson.dumps({k: v for k, v in sample(schemas.PaymendWebhookEvent).items() if k != "receivedAt"})
    with pytest.raises(schemas.InvalidFieldError, match=r"^PaymendWebhookEvent\.receivedAt: "):
        schemas.PaymendWebhookEvent.from_paymend_body(body, datetime(2025, 1, 1))
    event = schemas.PaymendWebhookEvent.from_paymend_body(body, datetime(2025, 1, 1, tzinfo=UTC))
    assert event.received_at == datetime(2025, 1, 1, tzinfo=UTC)
