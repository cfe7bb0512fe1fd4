"""Valid JSON objects into records in one walk: the fast path of `schemas.validation.from_mapping`.

The canonical path converts every field, builds the record with faust's `__init__` (a descriptor
call per field), and the record's `__post_init__` checks every field again. For valid input, which
nearly every record on a topic is, `build_once` converts and checks each value in one walk and
stores the values directly: every field of the contracts is a plain faust `FieldDescriptor`,
whose setter only stores the value, so faust's `__init__` would add nothing (a class with any
other descriptor is refused here and built the canonical way). It runs the same field checks
(`schemas.field_checks`), masks the same fields and runs the record's invariants.

On anything it does not accept it raises `Refused`, which carries no reason: `from_mapping` then
takes the canonical path, which names the error exactly as before. So this path may refuse more
than it must but must never accept more; `tests/unit/test_schemas_single_pass.py` checks that it
builds the same records as the canonical path, and refuses what it refuses, over mutated samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, TypeVar

from faust import Record
from faust.models.fields import FieldDescriptor

from .field_checks import int_ok, scalar_value, string_ok
from .fieldspec import Kind, TypeInfo, WireField, wire_fields, wire_names
from .masking import mask_card_data, mask_text

__all__ = ["Refused", "build_once"]

R = TypeVar("R", bound=Record)


class Refused(Exception):
    """`build_once` does not accept this input; the canonical path decides and names the error."""


#: Class -> the defaults of its optional fields, or None where the class must use its `__init__`.
_DIRECT: Final[dict[type, dict[str, Any] | None]] = {}


def _direct_defaults(cls: type[Record]) -> dict[str, Any] | None:
    try:
        return _DIRECT[cls]
    except KeyError:
        pass
    options = cls._options
    plain = not options.validation and all(
        type(d) is FieldDescriptor and d.tag is None for d in options.descriptors.values()
    )
    defaults = {name: options.defaults[name] for name in options.optionalset} if plain else None
    _DIRECT[cls] = defaults
    return defaults


def build_once(cls: type[R], data: Any) -> R:
    """A checked `cls` from a decoded JSON object, or `Refused` (see the module doc)."""
    defaults = _direct_defaults(cls)
    if defaults is None or not isinstance(data, Mapping):
        raise Refused
    version = getattr(cls, "SCHEMA_VERSION", 0)
    state = dict(defaults)
    for field in wire_fields(cls):
        spec = field.spec
        if spec.unknown:
            known = wire_names(cls)
            unknown = {key: value for key, value in data.items() if key not in known}
            if unknown:
                state[field.name] = mask_card_data(unknown)
            continue
        value = data.get(spec.wire)
        if value is None:
            required = getattr(cls, "VERSION_REQUIRED_ON_WIRE", True) if spec.version else not field.optional
            if required:
                raise Refused
            value = state.get(field.name)
            if value is not None and not _value_ok(field.info, field, value, version):
                raise Refused  # a default the checks would refuse (the schema version, for one)
            continue
        value = _value(field.info, field, value, version)
        if spec.masked:
            value = mask_text(value) if isinstance(value, str) else mask_card_data(value)
        state[field.name] = value
    record = cls.__new__(cls)
    state["__evaluated_fields__"] = set()
    record.__dict__.update(state)
    invariants = getattr(record, "_invariants", None)
    if invariants is not None and any(True for _ in invariants()):
        raise Refused
    return record


def _value(info: TypeInfo, field: WireField, value: Any, version: int) -> Any:
    """The JSON `value` as the Python value of kind `info`, checked; raises `Refused`."""
    kind = info.kind
    if kind is Kind.RECORD:
        return build_once(info.type, value)
    if kind is Kind.LIST:
        item = info.item
        if isinstance(value, list) and item is not None and len(value) >= (field.spec.min_items or 0):
            return [_value(item, field, element, version) for element in value]
        raise Refused
    converted = scalar_value(info, field.spec, value)
    if converted is None:
        raise Refused
    if kind is Kind.STR and not string_ok(field, converted):
        raise Refused
    if kind is Kind.INT and not int_ok(field.spec, converted, version):
        raise Refused
    return converted


def _value_ok(info: TypeInfo, field: WireField, value: Any, version: int) -> bool:
    """Whether a field's default passes the checks (only scalar defaults are expected)."""
    if info.kind is Kind.INT:
        return isinstance(value, int) and not isinstance(value, bool) and int_ok(field.spec, value, version)
    if info.kind is Kind.STR:
        return isinstance(value, str) and string_ok(field, value)
    if info.kind is Kind.DATETIME:
        return isinstance(value, datetime) and value.utcoffset() is not None
    return info.kind is Kind.ANY
