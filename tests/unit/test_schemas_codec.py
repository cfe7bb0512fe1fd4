"""The `paymend-json` codec: faust registration, round trips of every contract, camelCase wire names."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import faust
import orjson
import pytest
from faust.exceptions import ValueDecodeError
from faust.serializers import Registry, codecs

import schemas
from schemas.fieldspec import is_record, wire_fields
from tests.unit.schema_samples import SAMPLES, minimal_decline, sample


class Reading(faust.Record, serializer=schemas.CODEC_NAME, include_metadata=False):
    """A plain faust record using our codec by name, as any app record would."""

    sensor: str
    value: int
    at: datetime


def _all_record_classes() -> list[type[faust.Record]]:
    seen: list[type[faust.Record]] = []
    pending: list[type[faust.Record]] = list(schemas.CONTRACTS)
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.append(cls)
        for field in wire_fields(cls):
            inner = field.type.__args__[0] if hasattr(field.type, "__args__") else field.type
            if is_record(inner):
                pending.append(inner)
    return seen


def test_codec_is_registered_with_faust_on_import() -> None:
    assert isinstance(codecs.get_codec(schemas.CODEC_NAME), schemas.PaymendJsonCodec)
    before = codecs.get_codec(schemas.CODEC_NAME)
    schemas.register_codec()
    assert codecs.get_codec(schemas.CODEC_NAME) is before


def test_a_faust_record_declared_with_the_codec_name_dumps_and_loads_through_it() -> None:
    reading = Reading(sensor="s1", value=7, at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    raw = reading.dumps()
    assert raw == b'{"sensor":"s1","value":7,"at":"2025-01-02T03:04:05Z"}'  # orjson: compact, Z
    assert Reading.loads(raw).sensor == "s1"
    assert codecs.loads(schemas.CODEC_NAME, raw) == {"sensor": "s1", "value": 7, "at": "2025-01-02T03:04:05Z"}


def test_the_codec_refuses_bad_json_without_quoting_it() -> None:
    with pytest.raises(schemas.UndecodableError) as caught:
        codecs.loads(schemas.CODEC_NAME, b'{"number": "4111111111111111"')
    assert "4111" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("cls", schemas.CONTRACTS, ids=lambda c: c.__name__)
def test_round_trip_bytes_record_bytes_is_json_equal(cls: type[schemas.ContractRecord]) -> None:
    raw = orjson.dumps(sample(cls))
    record = schemas.decode(cls, raw)
    assert orjson.loads(record.encode()) == sample(cls)
    assert record.dumps() == record.encode()
    assert schemas.decode(cls, record.encode()) == record


@pytest.mark.parametrize("cls", schemas.CONTRACTS, ids=lambda c: c.__name__)
def test_faust_topic_serializer_path_uses_codec_and_validation(cls: type[schemas.ContractRecord]) -> None:
    registry = Registry(value_serializer=schemas.CODEC_NAME)
    record = schemas.decode(cls, orjson.dumps(sample(cls)))
    raw = registry.dumps_value(cls, record)
    assert isinstance(raw, bytes)
    assert registry.loads_value(cls, raw) == record
    assert cls.loads(raw) == record
    with pytest.raises(ValueDecodeError) as caught:
        registry.loads_value(cls, b'{"schemaVersion": 1}')
    assert isinstance(caught.value.__cause__, schemas.InvalidFieldError)


def test_minimal_decline_round_trips_and_gains_only_schema_version() -> None:
    record = schemas.decode(schemas.DeclineEvent, orjson.dumps(minimal_decline()))
    assert orjson.loads(record.encode()) == {"schemaVersion": 1, **minimal_decline()}


@pytest.mark.parametrize("cls", _all_record_classes(), ids=lambda c: c.__name__)
def test_wire_names_are_explicit_camel_case(cls: type[faust.Record]) -> None:
    for field in wire_fields(cls):
        if field.spec.unknown:
            continue
        assert re.fullmatch(r"[a-z][a-zA-Z0-9]*", field.wire), f"{cls.__name__}.{field.name}"
        descriptor = cls._options.descriptors[field.name]
        assert descriptor.input_name == descriptor.output_name == field.wire


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_encoded_records_use_wire_names_not_python_names() -> None:
    record = schemas.decode(schemas.DeclineEvent, orjson.dumps(sample(schemas.DeclineEvent)))
    keys = _keys(orjson.loads(record.encode()))
    assert {"paymentId", "holderName", "expiryMonth", "goodsType", "unitPrice", "productItems"} <= keys
    assert not {k for k in keys if "_" in k}
    assert "__faust" not in keys


def test_none_fields_are_left_out_and_offsets_are_kept() -> None:
    event = schemas.OrderCancelled(
        order_id="O1", reason="r", occurred_at=datetime(2025, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    )
    assert orjson.loads(event.encode()) == {
        "schemaVersion": 1,
        "orderId": "O1",
        "reason": "r",
        "occurredAt": "2025-01-01T12:00:00+02:00",
    }


def test_derive_works_with_wire_names_that_differ_from_attributes() -> None:
    record = schemas.decode(schemas.DeclineEvent, orjson.dumps(sample(schemas.DeclineEvent)))
    derived = record.derive(amount=5)
    assert isinstance(derived, schemas.DeclineEvent)
    assert derived.amount == 5
    assert derived.payment_id == record.payment_id


@pytest.mark.parametrize("cls", schemas.CONTRACTS, ids=lambda c: c.__name__)
def test_every_record_is_keyed_by_the_merchant_payment_id(cls: type[schemas.ContractRecord]) -> None:
    assert schemas.decode(cls, orjson.dumps(sample(cls))).message_key == "PAY-1001"


def test_a_cancel_by_order_id_only_has_no_key() -> None:
    data = {k: v for k, v in sample(schemas.OrderCancelled).items() if k != "paymentId"}
    assert schemas.decode(schemas.OrderCancelled, orjson.dumps(data)).message_key is None


def test_samples_cover_every_contract() -> None:
    assert set(SAMPLES) == set(schemas.CONTRACTS)
