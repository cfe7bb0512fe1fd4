"""DeadLetter: original coordinates, the error, and the value decoded and masked, however it was built."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schemas
from tests.unit.masking_oracle import luhn_pans_in, texts_with_pans
from tests.unit.schema_samples import CVV, MASKED_PAN, PAN, sample

AT = datetime(2025, 11, 5, 14, 22, 12, tzinfo=UTC)


def _letter(
    value: bytes | str | None, *, key: bytes | str | None = b"PAY-1001", **kw: Any
) -> schemas.DeadLetter:
    return schemas.DeadLetter.from_failure(
        source_topic="merchant.declines",
        partition=3,
        offset=1042,
        key=key,
        value=value,
        error=kw.pop("error", ValueError("boom")),
        failed_at=AT,
        **kw,
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*map(str, value), *(s for v in value.values() for s in _strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def test_a_json_payload_is_kept_as_json_with_card_data_masked() -> None:
    letter = _letter(orjson.dumps(sample(schemas.DeclineEvent)))
    assert letter.payload_format is schemas.PayloadFormat.JSON
    assert letter.payload["card"]["number"] == MASKED_PAN
    assert letter.payload["card"]["cvv"] == "***"
    assert letter.payload["amount"] == 12997
    assert letter.payload["card"]["holderName"] == "John Doe"
    encoded = letter.encode().decode()
    assert PAN not in encoded
    assert f'"{CVV}"' not in encoded


def test_the_error_and_coordinates_are_recorded() -> None:
    raw = orjson.dumps(sample(schemas.DeclineEvent) | {"amount": 0})
    try:
        schemas.decode(schemas.DeclineEvent, raw)
    except schemas.SchemaError as error:
        letter = _letter(raw, error=error)
    assert (letter.source_topic, letter.partition, letter.offset, letter.key) == (
        "merchant.declines",
        3,
        1042,
        "PAY-1001",
    )
    assert letter.error_class == "InvalidFieldError"
    assert letter.reason == "DeclineEvent.amount: must be an integer >= 1"
    assert letter.failed_at == AT


def test_text_that_is_not_json_is_kept_as_masked_text() -> None:
    letter = _letter(f'{{"card": {{"number": "4444444444440000", "cvv": "123"}}, note: {PAN}'.encode())
    assert letter.payload_format is schemas.PayloadFormat.TEXT
    assert letter.payload == '{"card": {"number": "444444******0000", "cvv": "***"}, note: 411111******1111'


def test_bytes_that_are_not_utf8_are_escaped_then_masked() -> None:
    letter = _letter(b"\xff\xfe" + PAN.encode() + b"\x00")
    assert letter.payload_format is schemas.PayloadFormat.TEXT
    assert letter.payload == "\\xff\\xfe" + MASKED_PAN + "\x00"


def test_no_value_is_absent() -> None:
    letter = _letter(None, key=None)
    assert (letter.payload_format, letter.payload, letter.key) == (schemas.PayloadFormat.ABSENT, None, None)
    assert "payload" not in orjson.loads(letter.encode())


def test_a_large_value_is_truncated_after_masking() -> None:
    text = "x" * 95 + " " + PAN + " tail"  # the PAN straddles the cut at 100
    letter = _letter(text, max_payload_chars=100)
    assert letter.payload_truncated is True
    assert letter.payload_format is schemas.PayloadFormat.TEXT
    assert len(letter.payload) == 100
    assert letter.payload.endswith(" 4111")  # the first 4 of "411111******1111"


def test_key_and_reason_are_masked() -> None:
    letter = _letter(b"{}", key=PAN.encode(), error=RuntimeError(f"cannot charge {PAN}"))
    assert letter.key == MASKED_PAN
    assert letter.reason == f"cannot charge {MASKED_PAN}"
    assert letter.error_class == "RuntimeError"


def test_a_dead_letter_built_directly_is_masked_too() -> None:
    letter = schemas.DeadLetter(
        source_topic="t",
        partition=0,
        offset=0,
        error_class="E",
        reason=f"bad {PAN}",
        payload_format=schemas.PayloadFormat.JSON,
        failed_at=AT,
        key=PAN,
        payload={"card": {"number": "4444444444440000", "cvv": CVV}, "free": f"text {PAN}"},
    )
    encoded = letter.encode().decode()
    assert PAN not in encoded
    assert "4444444444440000" not in encoded
    assert PAN not in repr(letter)


def test_round_trip() -> None:
    letter = _letter(orjson.dumps(sample(schemas.DeclineEvent)))
    assert schemas.decode(schemas.DeadLetter, letter.encode()) == letter


@pytest.mark.parametrize(
    ("fmt", "payload", "reason"),
    [("TEXT", {"a": 1}, "must be a string when payloadFormat is TEXT"), ("ABSENT", "x", "must be absent")],
)
def test_payload_must_fit_its_format(fmt: str, payload: Any, reason: str) -> None:
    data = sample(schemas.DeadLetter) | {"payloadFormat": fmt, "payload": payload}
    with pytest.raises(schemas.InvalidFieldError) as caught:
        schemas.decode(schemas.DeadLetter, orjson.dumps(data))
    assert caught.value.field == "DeadLetter.payload"
    assert caught.value.reason.startswith(reason)


@settings(max_examples=150, database=None, deadline=None)
@given(texts_with_pans, st.sampled_from(["utf-8", "latin-1", "json"]))
def test_no_luhn_valid_pan_survives_in_any_dead_letter(text: str, encoding: str) -> None:
    value = (
        orjson.dumps({"note": text, "card": {"number": text}})
        if encoding == "json"
        else text.encode(encoding, "replace")
    )
    letter = _letter(value, key=text.encode(), error=ValueError(text))
    for readable in [letter.key or "", letter.reason, *_strings(letter.payload)]:
        assert luhn_pans_in(readable) == []
