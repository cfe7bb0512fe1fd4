"""A small JSON Schema (draft 2020-12) checker for the keywords `schemas.jsonschema` generates.

Not a general validator (the project has no `jsonschema` dependency): `check_structure` rejects
any keyword outside the supported subset, so a generator change that emits something this
module cannot judge fails loudly instead of passing unchecked.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

DRAFT = "https://json-schema.org/draft/2020-12/schema"

_ANNOTATIONS = {"$schema", "$id", "title", "description", "$comment"}
_SUBSCHEMA_MAPS = {"$defs", "properties"}
_SUBSCHEMA = {"items", "if", "then", "else", "additionalProperties"}
_SUBSCHEMA_LISTS = {"allOf", "anyOf"}
_VALUES = {"type", "required", "enum", "const", "pattern", "format"}
_NUMBERS = {"minLength", "maxLength", "minimum", "maximum", "minItems"}
KNOWN = _ANNOTATIONS | _SUBSCHEMA_MAPS | _SUBSCHEMA | _SUBSCHEMA_LISTS | _VALUES | _NUMBERS | {"$ref"}
TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
#: Python-only regex syntax that ECMA-262 (the dialect of `pattern`) reads differently or not at all.
_NOT_ECMA = (r"\d", r"\w", r"\Z", r"\A", "(?P", "(?i", "(?#")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def check_structure(schema: dict[str, Any]) -> list[str]:
    """Problems with a root schema's structure (empty when it is a well-formed 2020-12 schema)."""
    problems: list[str] = []
    if schema.get("$schema") != DRAFT:
        problems.append(f"$schema must be {DRAFT}")
    if not urlparse(str(schema.get("$id", ""))).scheme:
        problems.append("$id must be an absolute URI")
    _walk(schema, schema, "#", problems)
    return problems


def _walk(node: Any, root: dict[str, Any], where: str, problems: list[str]) -> None:
    if isinstance(node, bool):
        return
    if not isinstance(node, dict):
        problems.append(f"{where}: a schema must be an object or a boolean")
        return
    for key, value in node.items():
        here = f"{where}/{key}"
        if key not in KNOWN:
            problems.append(f"{here}: keyword outside the supported subset")
        elif key in _SUBSCHEMA_MAPS:
            if not isinstance(value, dict):
                problems.append(f"{here}: must be an object")
                continue
            for name, sub in value.items():
                _walk(sub, root, f"{here}/{name}", problems)
        elif key in _SUBSCHEMA:
            _walk(value, root, here, problems)
        elif key in _SUBSCHEMA_LISTS:
            if not isinstance(value, list) or not value:
                problems.append(f"{here}: must be a non-empty array")
                continue
            for index, sub in enumerate(value):
                _walk(sub, root, f"{here}/{index}", problems)
        elif key in _NUMBERS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"{here}: must be a number")
            elif key not in ("minimum", "maximum") and (not isinstance(value, int) or value < 0):
                problems.append(f"{here}: must be a non-negative integer")
        elif key == "type":
            names = value if isinstance(value, list) else [value]
            if not names or any(n not in TYPES for n in names) or len(set(names)) != len(names):
                problems.append(f"{here}: invalid type")
        elif key == "required":
            if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
                problems.append(f"{here}: must be an array of strings")
            elif len(set(value)) != len(value):
                problems.append(f"{here}: duplicates")
            elif "properties" in node and not set(value) <= set(node["properties"]):
                problems.append(f"{here}: names a property that is not declared")
        elif key == "enum" and (not isinstance(value, list) or not value):
            problems.append(f"{here}: must be a non-empty array")
        elif key == "pattern":
            _check_pattern(value, here, problems)
        elif key == "$ref":
            if resolve(root, value) is None:
                problems.append(f"{here}: does not resolve")
        elif key in _ANNOTATIONS - {"$schema", "$id"} and not isinstance(value, str):
            problems.append(f"{here}: must be a string")


def _check_pattern(value: Any, here: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        problems.append(f"{here}: must be a string")
        return
    try:
        re.compile(value)
    except re.error:
        problems.append(f"{here}: does not compile")
    if any(token in value for token in _NOT_ECMA):
        problems.append(f"{here}: uses syntax that is not portable ECMA-262")
    if not (value.startswith("^") and value.endswith("$")):
        problems.append(f"{here}: must be anchored (patterns are searched, not matched)")


def resolve(root: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _type_ok(name: str, value: Any) -> bool:
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    expected = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}[name]
    return isinstance(value, expected)


def _ecma_search(pattern: str, text: str) -> bool:
    # ECMA `$` (without the m flag) matches only at the very end; Python's also before a final "\n".
    python = pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern
    return re.search(python, text) is not None


def _date_time_ok(text: str) -> bool:
    if not _RFC3339.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.upper())
    except ValueError:
        return False
    return True


def errors(instance: Any, schema: Any, root: dict[str, Any] | None = None, at: str = "$") -> list[str]:
    """Where `instance` breaks `schema` (empty when it conforms)."""
    root = root if root is not None else schema
    if schema is True:
        return []
    if schema is False:
        return [f"{at}: false schema"]
    found: list[str] = []
    if "$ref" in schema:
        found += errors(instance, resolve(root, schema["$ref"]), root, at)
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(name, instance) for name in names):
            return [*found, f"{at}: not of type {schema['type']}"]
    if "const" in schema and not _same(instance, schema["const"]):
        found.append(f"{at}: not {schema['const']!r}")
    if "enum" in schema and not any(_same(instance, option) for option in schema["enum"]):
        found.append(f"{at}: not in enum")
    if isinstance(instance, str):
        found += _string_errors(instance, schema, at)
    if isinstance(instance, int | float) and not isinstance(instance, bool):
        if "minimum" in schema and instance < schema["minimum"]:
            found.append(f"{at}: below minimum")
        if "maximum" in schema and instance > schema["maximum"]:
            found.append(f"{at}: above maximum")
    if isinstance(instance, list):
        if "minItems" in schema and len(instance) < schema["minItems"]:
            found.append(f"{at}: too few items")
        if "items" in schema:
            for index, item in enumerate(instance):
                found += errors(item, schema["items"], root, f"{at}[{index}]")
    if isinstance(instance, dict):
        found += _object_errors(instance, schema, root, at)
    for sub in schema.get("allOf", []):
        found += errors(instance, sub, root, at)
    if "anyOf" in schema and all(errors(instance, sub, root, at) for sub in schema["anyOf"]):
        found.append(f"{at}: matches none of anyOf")
    if "if" in schema:
        branch = "then" if not errors(instance, schema["if"], root, at) else "else"
        if branch in schema:
            found += errors(instance, schema[branch], root, at)
    return found


def _same(a: Any, b: Any) -> bool:
    # JSON equality: true is not 1.
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def _string_errors(instance: str, schema: dict[str, Any], at: str) -> list[str]:
    found = []
    if "minLength" in schema and len(instance) < schema["minLength"]:
        found.append(f"{at}: too short")
    if "maxLength" in schema and len(instance) > schema["maxLength"]:
        found.append(f"{at}: too long")
    if "pattern" in schema and not _ecma_search(schema["pattern"], instance):
        found.append(f"{at}: does not match pattern")
    if schema.get("format") == "date-time" and not _date_time_ok(instance):
        found.append(f"{at}: not an RFC 3339 date-time")
    return found


def _object_errors(
    instance: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], at: str
) -> list[str]:
    found = [f"{at}.{name}: required" for name in schema.get("required", []) if name not in instance]
    properties = schema.get("properties", {})
    for name, value in instance.items():
        if name in properties:
            found += errors(value, properties[name], root, f"{at}.{name}")
        elif schema.get("additionalProperties") is False:
            found.append(f"{at}.{name}: not allowed")
    return found
