"""`DeadLetter`: a message an agent could not process, with where it came from and why.

`DeadLetter.from_failure(...)` is the one way agents should build it: it decodes the original
value (JSON if it parses, else text; bytes that are not UTF-8 are escaped), truncates very large
values, and masks card data everywhere a human will read: payload, key and reason. The `key`,
`reason` and `payload` fields are masked on construction too, so a dead letter built any other
way cannot carry a card number either. Replaying means reading the source coordinates
(`sourceTopic`, `partition`, `offset`), not the masked payload.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final, Self

from .codec import json_loads
from .enums import PayloadFormat
from .fieldspec import wire
from .masking import mask_text
from .record import ContractRecord

__all__ = ["MAX_PAYLOAD_CHARS", "DeadLetter"]

#: Payloads longer than this (in characters) are kept as truncated text.
MAX_PAYLOAD_CHARS: Final = 100_000
_MAX_REASON: Final = 2000
_MAX_KEY: Final = 1000


def _text(raw: bytes | bytearray | memoryview | str) -> str:
    if isinstance(raw, str):
        return raw
    return bytes(raw).decode("utf-8", errors="backslashreplace")


def _cut(text: str, limit: int) -> str:
    """Mask, then cut to `limit`: a card number across the cut is masked before it is cut."""
    return mask_text(text[: limit + 64])[:limit]


class DeadLetter(ContractRecord, namespace="paymend_streams.DeadLetter"):
    """An input message that was not processed, with its coordinates, the error and the masked value."""

    source_topic: str = wire("sourceTopic", "Topic the message was read from.", max_length=255)
    partition: int = wire("partition", "Partition of the source topic.", minimum=0)
    offset: int = wire("offset", "Offset in that partition.", minimum=0)
    error_class: str = wire("errorClass", "Class name of the error, e.g. InvalidFieldError.", max_length=255)
    reason: str = wire(
        "reason", "The error message (card numbers masked).", max_length=_MAX_REASON, masked=True
    )
    payload_format: PayloadFormat = wire(
        "payloadFormat", "JSON: payload is the parsed value; TEXT: payload is a string; ABSENT: no value."
    )
    failed_at: datetime = wire("failedAt", "When processing failed.")
    key: str | None = wire(
        "key",
        "The message key as text (card numbers masked).",
        default=None,
        min_length=0,
        max_length=_MAX_KEY,
        masked=True,
    )
    payload: Any = wire(
        "payload",
        "The original value with card data masked: any JSON value (JSON) or a string (TEXT).",
        default=None,
        masked=True,
    )
    payload_truncated: bool = wire(
        "payloadTruncated",
        f"True when the value was longer than {MAX_PAYLOAD_CHARS} characters and cut.",
        default=False,
    )

    @property
    def message_key(self) -> str | None:
        """Dead letters keep the original message's key (masked)."""
        return self.key

    def _invariants(self) -> Iterable[tuple[str, str]]:
        if self.payload_format is PayloadFormat.TEXT and not isinstance(self.payload, str):
            yield "payload", "must be a string when payloadFormat is TEXT"
        if self.payload_format is PayloadFormat.ABSENT and self.payload is not None:
            yield "payload", "must be absent when payloadFormat is ABSENT"

    @classmethod
    def json_schema_rules(cls) -> list[dict[str, object]]:
        """The payload rules of `_invariants`, for the JSON Schema export."""
        return [
            {
                "if": {"properties": {"payloadFormat": {"const": "TEXT"}}},
                "then": {"required": ["payload"], "properties": {"payload": {"type": "string"}}},
            },
            {
                "if": {"properties": {"payloadFormat": {"const": "ABSENT"}}},
                "then": {"properties": {"payload": {"type": "null"}}},
            },
        ]

    @classmethod
    def from_failure(
        cls,
        *,
        source_topic: str,
        partition: int,
        offset: int,
        key: bytes | str | None,
        value: bytes | bytearray | memoryview | str | None,
        error: BaseException,
        failed_at: datetime | None = None,
        max_payload_chars: int = MAX_PAYLOAD_CHARS,
    ) -> Self:
        """A dead letter for `value` (the original message bytes) that failed with `error`."""
        payload: Any = None
        payload_format = PayloadFormat.ABSENT
        truncated = False
        if value is not None:
            text = _text(value)
            payload_format = PayloadFormat.TEXT
            if len(text) > max_payload_chars:
                payload, truncated = _cut(text, max_payload_chars), True
            else:
                payload = text
                with contextlib.suppress(ValueError):
                    payload, payload_format = json_loads(text), PayloadFormat.JSON
        key_text = None if key is None else _cut(_text(key), _MAX_KEY)
        reason = _cut(str(error) or type(error).__name__, _MAX_REASON)
        return cls(
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            error_class=type(error).__qualname__,
            reason=reason,
            payload_format=payload_format,
            failed_at=failed_at or datetime.now(UTC),
            key=key_text,
            payload=payload,
            payload_truncated=truncated,
        )
