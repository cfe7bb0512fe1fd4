"""Explicit validation: JSON bytes -> checked record, and the checks every record runs on construction.

faust's own `Record.from_data` coerces loosely and keeps unknown keys as attributes; nothing here
relies on it. `decode(cls, raw)` parses with orjson and walks the record's `wire_fields`:
required fields present, JSON types right, values in range, nested objects and arrays checked
with their paths. Every record also runs `check_record` in `__post_init__`, so one built in
Python with a bad value fails the same way, and `WireRecord.from_data` (used by faust when a topic
has `value_type=SomeRecord`) goes through `from_mapping` as well.

`from_mapping` first tries `schemas.single_pass.build_once`, which checks valid input in one walk
(2.3x faster for a decline); whatever it refuses goes the canonical way, `convert_then_check`,
which names the error.

Errors are `UndecodableError` / `InvalidFieldError` naming the wire path, never the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, TypeVar

import orjson
from faust import Record

from .codec import json_loads
from .errors import InvalidFieldError, UndecodableError
from .field_checks import enum_member, int_ok, parse_datetime, scalar_value, string_ok
from .fieldspec import Kind, TypeInfo, WireField, describe, wire_fields, wire_names
from .masking import mask_card_data, mask_text
from .single_pass import Refused, build_once

__all__ = ["check_record", "convert_then_check", "decode", "from_mapping", "parse_datetime"]

R = TypeVar("R", bound=Record)


def _invalid(info: TypeInfo, field: WireField, path: str, version: int | None = None) -> InvalidFieldError:
    return InvalidFieldError(path, "must be " + describe(info.type, field.spec, version=version))


def _convert(info: TypeInfo, field: WireField, value: Any, path: str) -> Any:
    """A JSON value -> the Python value of kind `info`; raises on a wrong JSON type (ranges: `_check`)."""
    kind = info.kind
    if kind is Kind.RECORD:
        if isinstance(value, Mapping):
            return from_mapping(info.type, value, path)
    elif kind is Kind.LIST:
        if isinstance(value, list) and info.item is not None:
            item = info.item
            return [_convert(item, field, v, f"{path}[{i}]") for i, v in enumerate(value)]
    else:
        converted = scalar_value(info, field.spec, value)
        if converted is not None:
            return converted
    raise _invalid(info, field, path)


def _check(info: TypeInfo, field: WireField, value: Any, path: str, version: int) -> None:
    """Raise unless the Python `value` is of kind `info` and within the field's constraints."""
    kind = info.kind
    if kind is Kind.STR:
        ok = isinstance(value, str) and string_ok(field, value)
    elif kind is Kind.INT:
        ok = isinstance(value, int) and not isinstance(value, bool) and int_ok(field.spec, value, version)
    elif kind is Kind.ENUM or kind is Kind.RECORD:
        ok = isinstance(value, info.type)
    elif kind is Kind.DATETIME:
        ok = isinstance(value, datetime) and value.utcoffset() is not None
    elif kind is Kind.LIST:
        min_items = field.spec.min_items or 0
        ok = isinstance(value, list) and len(value) >= min_items and info.item is not None
        if ok and info.item is not None:
            for index, element in enumerate(value):
                _check(info.item, field, element, f"{path}[{index}]", version)
    elif kind is Kind.BOOL:
        ok = isinstance(value, bool)
    else:  # Kind.ANY
        ok = True
    if not ok:
        raise _invalid(info, field, path, version)


def from_mapping(cls: type[R], data: Mapping[str, Any], path: str | None = None) -> R:
    """Build a checked `cls` from a decoded JSON object; `path` prefixes error field names.

    Valid input takes `single_pass.build_once`; anything it refuses takes the canonical path below
    (convert every field, then build the record, whose `__post_init__` checks it), which names the
    error.
    """
    try:
        return build_once(cls, data)
    except Refused:
        return convert_then_check(cls, data, path)


def convert_then_check(cls: type[R], data: Mapping[str, Any], path: str | None = None) -> R:
    """The canonical path of `from_mapping`: slower, and the one that names the error."""
    path = path or cls.__name__
    if not isinstance(data, Mapping):
        raise InvalidFieldError(path, "must be an object")
    kwargs: dict[str, Any] = {}
    unknown_holder: WireField | None = None
    for field in wire_fields(cls):
        spec = field.spec
        if spec.unknown:
            unknown_holder = field
            continue
        value = data.get(spec.wire)
        if value is None:
            required = getattr(cls, "VERSION_REQUIRED_ON_WIRE", True) if spec.version else not field.optional
            if required:
                raise InvalidFieldError(f"{path}.{spec.wire}", "is required")
            continue
        kwargs[field.name] = _convert(field.info, field, value, f"{path}.{spec.wire}")
    if unknown_holder is not None:
        known = wire_names(cls)
        unknown = {key: value for key, value in data.items() if key not in known}
        if unknown:
            kwargs[unknown_holder.name] = unknown
    try:
        return cls(**kwargs)
    except InvalidFieldError as exc:
        raise exc.nested_under(path) from None


def decode(cls: type[R], raw: bytes | bytearray | memoryview | str | None) -> R:
    """Parse UTF-8 JSON bytes into a checked `cls`; raises `UndecodableError` or `InvalidFieldError`."""
    name = cls.__name__
    if raw is None or len(raw) == 0:
        raise UndecodableError(name, "is empty")
    try:
        data = json_loads(raw)
    except orjson.JSONDecodeError as exc:
        # The library's message and `doc` can quote the input: keep only the position.
        raise UndecodableError(name, f"is not UTF-8 JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise UndecodableError(name, "must be a JSON object")
    return from_mapping(cls, data)


_ADOPTABLE: Final = frozenset({Kind.ENUM, Kind.RECORD, Kind.LIST})


def _adopt(field: WireField, value: Any, path: str) -> Any:
    """Accept the plain forms Python callers may pass: an enum's string, a nested record's dict."""
    info = field.info
    if info.kind is Kind.ENUM and isinstance(value, str) and not isinstance(value, info.type):
        return enum_member(info.type, value)
    if info.kind is Kind.RECORD and isinstance(value, Mapping):
        return from_mapping(info.type, value, path)
    item = info.item
    of_records = info.kind is Kind.LIST and item is not None and item.kind is Kind.RECORD
    if of_records and item is not None and isinstance(value, list):
        return [
            from_mapping(item.type, v, f"{path}[{i}]") if isinstance(v, Mapping) else v
            for i, v in enumerate(value)
        ]
    return value


def check_record(record: Record) -> None:
    """Check every field of a record built in Python; mask free text and unknown fields in place.

    A plain string given for an enum field becomes its member, and a dict given for a nested
    record becomes that record (validated), as faust itself would coerce them.
    """
    cls = type(record)
    name = cls.__name__
    version = getattr(cls, "SCHEMA_VERSION", 0)
    values = record.__dict__
    for field in wire_fields(cls):
        # Read the stored value: faust's descriptor would coerce nested dicts on access.
        value = values.get(field.name)
        if field.info.kind is Kind.UNKNOWN:
            if value is not None:
                if not isinstance(value, dict):
                    raise InvalidFieldError(name, "unknown fields must be held in a dict")
                setattr(record, field.name, mask_card_data(value))
            continue
        if value is None:
            if not field.optional:
                raise InvalidFieldError(f"{name}.{field.spec.wire}", "is required")
            continue
        if field.info.kind in _ADOPTABLE:
            value = _adopt(field, value, f"{name}.{field.spec.wire}")
            if value is not values.get(field.name):
                setattr(record, field.name, value)
        _check(field.info, field, value, f"{name}.{field.spec.wire}", version)
        if field.spec.masked:
            masked = mask_text(value) if isinstance(value, str) else mask_card_data(value)
            if masked != value:
                setattr(record, field.name, masked)
    invariants = getattr(record, "_invariants", None)
    if invariants is not None:
        for where, reason in invariants():
            raise InvalidFieldError(f"{name}.{where}" if where else name, reason)
