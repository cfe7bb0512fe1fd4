"""The checks of one JSON value against one field, shared by the two decode paths.

`schemas.validation` (the canonical path: convert, build, check, naming every error) and
`schemas.single_pass` (the one-walk path for valid input) must accept exactly the same values, so
the rules for a date-time, a string's length and pattern, an integer's range and an enum's member,
and the conversion of a JSON value into a scalar field's Python value (`scalar_value`), live here,
once; each path adds only its handling of records and lists, and of a refusal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final

from .fieldspec import FieldSpec, Kind, TypeInfo, WireField

__all__ = ["enum_member", "int_ok", "parse_datetime", "scalar_value", "string_ok"]

_DATETIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?P<offset>Z|[+-][0-9]{2}:[0-9]{2})?"
)


def parse_datetime(text: str, *, naive_utc: bool = False) -> datetime | None:
    """RFC 3339 date-time -> aware datetime; None if malformed (or without offset, unless naive_utc)."""
    match = _DATETIME.fullmatch(text)
    if match is None or (match["offset"] is None and not naive_utc):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def string_ok(field: WireField, value: str) -> bool:
    """Whether `value` has the field's length and matches its pattern."""
    spec = field.spec
    if spec.min_length is not None and len(value) < spec.min_length:
        return False
    if spec.max_length is not None and len(value) > spec.max_length:
        return False
    return field.regex is None or field.regex.fullmatch(value) is not None


def int_ok(spec: FieldSpec, value: int, version: int) -> bool:
    """Whether `value` is in the field's range (equal to `version`, for the schema-version field)."""
    if spec.version:
        return value == version
    if spec.minimum is not None and value < spec.minimum:
        return False
    return spec.maximum is None or value <= spec.maximum


def enum_member(tp: Any, value: str) -> Any:
    """The member of enum `tp` whose value is `value`, or None."""
    try:
        return tp(value)
    except ValueError:
        return None


def scalar_value(info: TypeInfo, spec: FieldSpec, value: Any) -> Any:
    """The JSON `value` (never None) as the Python value of scalar kind `info`, or None if refused.

    A string, an int (never a bool; for a lenient field also a string of at most 18 ASCII
    digits), an enum member (upper-cased first for a lenient field), an aware date-time (a lenient
    field may omit the offset: UTC), a bool, or anything for `Any`. Ranges, lengths and patterns
    are `int_ok` and `string_ok`; a record or a list is not a scalar (None).
    """
    kind = info.kind
    if kind is Kind.STR:
        return value if isinstance(value, str) else None
    if kind is Kind.INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if (
            spec.lenient
            and isinstance(value, str)
            and value.isascii()
            and value.isdigit()
            and len(value) < 19
        ):
            return int(value)
        return None
    if kind is Kind.ENUM:
        if not isinstance(value, str):
            return None
        return enum_member(info.type, value.upper() if spec.lenient else value)
    if kind is Kind.DATETIME:
        return parse_datetime(value, naive_utc=spec.lenient) if isinstance(value, str) else None
    if kind is Kind.BOOL:
        return value if isinstance(value, bool) else None
    return value if kind is Kind.ANY else None
