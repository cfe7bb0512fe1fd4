"""JSON Schema (draft 2020-12) generated from the record definitions, for consumers in any language.

`record_schema(cls)` reads the same `wire_fields` the validator uses: wire names, types, required
fields, enums, patterns, bounds and descriptions; nested records become `$defs` referenced with
`$ref`; cross-field rules come from the record's `json_schema_rules()`. `render(cls)` is the exact
text of the checked-in file `schemas/json/<contract_id>.schema.json`, e.g.
`paymend_streams.DeclineEvent.v1.schema.json`.

Schemas describe what this service writes (canonical values). Optional fields may be absent or
null. Unknown properties are allowed: readers must ignore fields they do not know, which is what
lets a version grow compatibly.
"""

from __future__ import annotations

import inspect
import json
import typing
from datetime import datetime
from typing import Any, Final

from .fieldspec import FieldSpec, WireField, is_enum, is_record, wire_fields
from .record import ContractRecord

__all__ = ["DRAFT_2020_12", "file_name", "record_schema", "render"]

DRAFT_2020_12: Final = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX: Final = "urn:paymend-streams:schema:"


def file_name(cls: type[ContractRecord]) -> str:
    """The schema file name, e.g. `paymend_streams.DeclineEvent.v1.schema.json`."""
    return f"{cls.contract_id()}.schema.json"


def _doc(cls: type) -> str:
    return inspect.cleandoc(cls.__doc__ or cls.__name__)


def _type_schema(tp: Any, spec: FieldSpec, defs: dict[str, Any]) -> dict[str, Any]:
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        out: dict[str, Any] = {"type": "array", "items": _type_schema(item, spec, defs)}
        if spec.min_items:
            out["minItems"] = spec.min_items
        return out
    if is_record(tp):
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}  # placeholder against recursion
            defs[tp.__name__] = _object_schema(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if tp is str:
        out = {"type": "string"}
        if spec.min_length and not spec.pattern:
            out["minLength"] = spec.min_length
        if spec.max_length is not None:
            out["maxLength"] = spec.max_length
        if spec.pattern:
            out["pattern"] = spec.pattern
        return out
    if tp is int:
        out = {"type": "integer"}
        if spec.minimum is not None:
            out["minimum"] = spec.minimum
        if spec.maximum is not None:
            out["maximum"] = spec.maximum
        return out
    if tp is bool:
        return {"type": "boolean"}
    if tp is datetime:
        return {"type": "string", "format": "date-time"}
    if is_enum(tp):
        return {"type": "string", "enum": [member.value for member in tp]}
    return {}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if not schema:
        return schema
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def _field_schema(cls: type, field: WireField, defs: dict[str, Any]) -> dict[str, Any]:
    if field.spec.version:
        version = getattr(cls, "SCHEMA_VERSION", 1)
        body: dict[str, Any] = {"const": version}
        if not getattr(cls, "VERSION_REQUIRED_ON_WIRE", True):
            body = {"enum": [version, None]}
        return {"description": field.spec.description, **body}
    schema = _type_schema(field.type, field.spec, defs)
    if field.optional:
        schema = _nullable(schema)
    return {"description": field.spec.description, **schema}


def _required_on_wire(cls: type, field: WireField) -> bool:
    if field.spec.version:
        return bool(getattr(cls, "VERSION_REQUIRED_ON_WIRE", True))
    return not field.optional


def _object_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    fields = [field for field in wire_fields(cls) if not field.spec.unknown]
    out: dict[str, Any] = {
        "description": _doc(cls),
        "type": "object",
        "properties": {field.wire: _field_schema(cls, field, defs) for field in fields},
        "required": [field.wire for field in fields if _required_on_wire(cls, field)],
        "additionalProperties": True,
    }
    rules = getattr(cls, "json_schema_rules", None)
    if rules is not None:
        out["allOf"] = rules()
    return out


def record_schema(cls: type[ContractRecord]) -> dict[str, Any]:
    """The JSON Schema of a contract record, as a dict."""
    defs: dict[str, Any] = {}
    body = _object_schema(cls, defs)
    schema: dict[str, Any] = {
        "$schema": DRAFT_2020_12,
        "$id": f"{ID_PREFIX}{cls.contract_id()}",
        "title": f"{cls.namespace()} v{cls.SCHEMA_VERSION}",
        **body,
    }
    if defs:
        schema["$defs"] = dict(sorted(defs.items()))
    return schema


def render(cls: type[ContractRecord]) -> str:
    """The exact text of the record's schema file (2-space indent, trailing newline)."""
    return json.dumps(record_schema(cls), indent=2, ensure_ascii=False) + "\n"
