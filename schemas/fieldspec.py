"""Field declarations: one `wire(...)` per record field holds everything the contract says about it.

    class Consumer(WireRecord, namespace="paymend_streams.Consumer"):
        first_name: str = wire("firstName", "Given name.", max_length=100)
        phone: str | None = wire("phone", "Phone number, any format.", default=None)

`wire()` returns a faust `FieldDescriptor` whose `input_name`/`output_name` is the camelCase wire
name and whose options carry a `FieldSpec` (description and constraints). The Python annotation
gives the type. Validation (`schemas.validation`) and JSON Schema export (`schemas.jsonschema`)
both read the same `WireField` list from `wire_fields(cls)`, so the checked-in schema files and
the decoder cannot disagree about a field.

Supported field types: `str`, `int`, `bool`, `datetime` (timezone-aware), `enum.StrEnum`
subclasses, nested records, `list[...]` of those, `Any` (any JSON value), each optionally `| None`.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Union, cast

from faust import Record
from faust.models.fields import FieldDescriptor

__all__ = [
    "REQUIRED",
    "FieldSpec",
    "Kind",
    "TypeInfo",
    "WireField",
    "describe",
    "unknown_fields",
    "wire",
    "wire_fields",
    "wire_names",
]

#: The default of `wire(default=...)` meaning "no default: the field is required".
REQUIRED: Final[Any] = object()

#: RFC 3339 date-time, as accepted on the wire (seconds required, offset required unless lenient).
DATETIME_HINT: Final = "an ISO 8601 date-time with a UTC offset, e.g. 2025-11-05T14:22:10Z"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What the contract says about one field, besides its type (see `wire()`)."""

    wire: str
    description: str
    min_length: int | None = 1
    max_length: int | None = None
    pattern: str | None = None
    hint: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    min_items: int | None = None
    masked: bool = False
    lenient: bool = False
    version: bool = False
    unknown: bool = False


def wire(
    name: str,
    description: str,
    *,
    default: Any = REQUIRED,
    min_length: int | None = 1,
    max_length: int | None = None,
    pattern: str | None = None,
    hint: str | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    min_items: int | None = None,
    masked: bool = False,
    lenient: bool = False,
    version: bool = False,
) -> Any:
    """Declare a record field by its wire name, description and constraints.

    `pattern` is anchored (`^...$`), ECMA-262 compatible, ASCII classes only (`[0-9]`, not `\\d`);
    `hint` replaces the generated "must be ..." wording; `masked` fields (free text, raw payloads)
    go through `mask_text` / `mask_card_data` on construction, however the record is built;
    `lenient` (for input from Paymend, whose docs disagree on casing and types) accepts enum
    values in any case, integers as digit strings and date-times without an offset (read as
    UTC); `version` marks the schema-version field.
    """
    spec = FieldSpec(
        wire=name,
        description=description,
        min_length=min_length,
        max_length=max_length,
        pattern=pattern,
        hint=hint,
        minimum=minimum,
        maximum=maximum,
        min_items=min_items,
        masked=masked,
        lenient=lenient,
        version=version,
    )
    if default is REQUIRED:
        return FieldDescriptor(input_name=name, output_name=name, spec=spec)
    return FieldDescriptor(input_name=name, output_name=name, required=False, default=default, spec=spec)


def unknown_fields() -> Any:
    """Declare the field that keeps unknown wire fields (masked), written back out on encode."""
    spec = FieldSpec(wire="", description="Unknown fields as received, card data masked.", unknown=True)
    return FieldDescriptor(required=False, default=None, exclude=True, spec=spec)


class Kind(enum.Enum):
    """How a field's values are checked and converted (derived once from its annotation)."""

    STR = "str"
    INT = "int"
    BOOL = "bool"
    DATETIME = "datetime"
    ENUM = "enum"
    RECORD = "record"
    LIST = "list"
    ANY = "any"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """A supported field type: its kind, the Python type, and for lists the item's `TypeInfo`."""

    kind: Kind
    type: Any
    item: TypeInfo | None = None


@dataclass(frozen=True, slots=True)
class WireField:
    """One field of a record: Python name, wire name, type, and whether it may be absent."""

    name: str
    spec: FieldSpec
    type: Any
    optional: bool
    info: TypeInfo
    regex: re.Pattern[str] | None

    @property
    def wire(self) -> str:
        return self.spec.wire


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != len(typing.get_args(tp)) and len(args) == 1:
            return args[0], True
    return tp, False


_SCALARS: Final = {str: Kind.STR, int: Kind.INT, bool: Kind.BOOL, datetime: Kind.DATETIME}


def type_info(owner: str, name: str, tp: Any) -> TypeInfo:
    """The `TypeInfo` of a supported annotation (Optional already removed); raises on others."""
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        return TypeInfo(Kind.LIST, tp, type_info(owner, name, item))
    if tp is Any:
        return TypeInfo(Kind.ANY, tp)
    if tp in _SCALARS:
        return TypeInfo(_SCALARS[tp], tp)
    if is_enum(tp):
        return TypeInfo(Kind.ENUM, tp)
    if is_record(tp):
        return TypeInfo(Kind.RECORD, tp)
    raise TypeError(f"{owner}.{name}: unsupported field type {tp!r}")


def is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.StrEnum)


def is_record(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Record)


#: Class -> its fields; filled once per record class (classes are never redefined at run time).
_FIELDS: dict[type, tuple[WireField, ...]] = {}


def wire_fields(cls: type[Record]) -> tuple[WireField, ...]:
    """The fields of a record class in declaration order; raises if one was declared without `wire()`."""
    cached = _FIELDS.get(cls)
    if cached is None:
        cached = _FIELDS[cls] = _collect_fields(cls)
    return cached


#: Class -> the wire names of its fields.
_NAMES: dict[type, frozenset[str]] = {}


def wire_names(cls: type[Record]) -> frozenset[str]:
    """The wire names a record class declares (everything else is an unknown field)."""
    cached = _NAMES.get(cls)
    if cached is None:
        cached = _NAMES[cls] = frozenset(f.spec.wire for f in wire_fields(cls) if not f.spec.unknown)
    return cached


def _collect_fields(cls: type[Record]) -> tuple[WireField, ...]:
    fields: list[WireField] = []
    for name, descriptor in cls._options.descriptors.items():
        spec = cast(FieldDescriptor[Any], descriptor).options.get("spec")
        if not isinstance(spec, FieldSpec):
            raise TypeError(f"{cls.__name__}.{name}: declare the field with schemas.fieldspec.wire()")
        tp, optional = _unwrap_optional(cls._options.fields[name])
        info = TypeInfo(Kind.UNKNOWN, tp) if spec.unknown else type_info(cls.__name__, name, tp)
        fields.append(
            WireField(
                name=name,
                spec=spec,
                type=tp,
                optional=optional or not descriptor.required,
                info=info,
                regex=re.compile(spec.pattern) if spec.pattern else None,
            )
        )
    return tuple(fields)


def describe(tp: Any, spec: FieldSpec, *, version: int | None = None) -> str:
    """What a valid value looks like, as used in "must be ..." error reasons."""
    if spec.version:
        return f"the integer {version}"
    if spec.hint:
        return spec.hint
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        least = f" of at least {spec.min_items} item(s)" if spec.min_items else ""
        return f"an array{least}" + (
            "" if is_record(item) else f" whose items are each {describe(item, spec)}"
        )
    if tp is str:
        if spec.pattern:
            return f"a string matching {spec.pattern}"
        text = "a non-empty string" if spec.min_length else "a string"
        return text + (f" of at most {spec.max_length} characters" if spec.max_length else "")
    if tp is int:
        text = "an integer"
        text += f" >= {spec.minimum}" if spec.minimum is not None else ""
        text += f" <= {spec.maximum}" if spec.maximum is not None else ""
        return text
    if tp is bool:
        return "a boolean"
    if tp is datetime:
        return DATETIME_HINT
    if is_enum(tp):
        return "one of " + ", ".join(member.value for member in tp)
    if is_record(tp):
        return "an object"
    return "a JSON value"
