"""The checked-in JSON Schema files: in sync with the records, well-formed 2020-12, and in agreement
with the decoder (samples pass both; broken samples fail both)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import schemas
from schemas.export import SCHEMA_DIR, expected_files, main
from schemas.fieldspec import is_enum, is_record, wire_fields
from schemas.jsonschema import file_name
from tests.unit import jsonschema_subset as subset
from tests.unit.schema_samples import minimal_decline, sample


def _schema(cls: type[schemas.ContractRecord]) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / file_name(cls)).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# --- in sync -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", schemas.CONTRACTS, ids=lambda c: c.__name__)
def test_checked_in_file_matches_the_generator(cls: type[schemas.ContractRecord]) -> None:
    path = SCHEMA_DIR / file_name(cls)
    assert path.exists(), f"missing {path}: run `python -m schemas.export`"
    assert path.read_text(encoding="utf-8") == expected_files()[path.name], (
        f"{path.name} is out of date: run `python -m schemas.export` and commit the result"
    )


def test_no_stale_schema_files() -> None:
    on_disk = {p.name for p in SCHEMA_DIR.glob("*.schema.json")}
    assert on_disk == set(expected_files())
    assert sorted(on_disk) == sorted(
        f"{cls.namespace()}.v{cls.SCHEMA_VERSION}.schema.json" for cls in schemas.CONTRACTS
    )


def test_export_writes_checks_and_removes_stale_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--out", str(tmp_path), "--check"]) == 1
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "paymend_streams.Gone.v1.schema.json").write_text("{}")
    (tmp_path / file_name(schemas.DeadLetter)).write_text("{}")
    assert main(["--out", str(tmp_path), "--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert main(["--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == set(expected_files())


# --- well-formed ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", schemas.CONTRACTS, ids=lambda c: c.__name__)
def test_file_is_a_well_formed_draft_2020_12_schema(cls: type[schemas.ContractRecord]) -> None:
    schema = _schema(cls)
    assert subset.check_structure(schema) == []
    assert schema["$id"] == f"urn:paymend-streams:schema:{cls.namespace()}.v1"
    assert schema["properties"]["schemaVersion"].get("const", 1) == 1


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"$schema": subset.DRAFT, "$id": "urn:x", "type": "text"}, "invalid type"),
        (
            {"$schema": subset.DRAFT, "$id": "urn:x", "properties": {"a": {}}, "required": ["b"]},
            "not declared",
        ),
        ({"$schema": subset.DRAFT, "$id": "urn:x", "pattern": r"^\d+$"}, "not portable"),
        ({"$schema": subset.DRAFT, "$id": "urn:x", "pattern": "[0-9]+"}, "anchored"),
        ({"$schema": subset.DRAFT, "$id": "urn:x", "$ref": "#/$defs/Nope"}, "does not resolve"),
        ({"$schema": subset.DRAFT, "$id": "urn:x", "oneOf": [{}]}, "outside the supported subset"),
        ({"$schema": "http://json-schema.org/draft-07/schema#", "$id": "urn:x"}, "$schema must be"),
    ],
)
def test_the_structure_checker_catches_problems(schema: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in subset.check_structure(schema))


@pytest.mark.parametrize(
    ("instance", "schema"),
    [
        ("x", {"type": "integer"}),
        (True, {"type": "integer"}),
        ({}, {"type": "object", "required": ["a"]}),
        ("USD\n", {"type": "string", "pattern": "^[A-Z]{3}$"}),
        ("B", {"enum": ["A"]}),
        (2, {"const": 1}),
        ("2025-11-05T14:22:10", {"type": "string", "format": "date-time"}),
        ([], {"type": "array", "minItems": 1}),
        ({"a": "x"}, {"$defs": {"I": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/I"}}}),
        ("x", {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        ({"k": "A"}, {"if": {"properties": {"k": {"const": "A"}}}, "then": {"required": ["v"]}}),
        ({"k": "B"}, {"if": {"properties": {"k": {"const": "A"}}}, "else": {"required": ["v"]}}),
    ],
)
def test_the_validator_rejects(instance: Any, schema: dict[str, Any]) -> None:
    assert subset.errors(instance, schema) != []


# --- conforming samples ----------------------------------------------------------------------------


def _valid_samples() -> Iterator[Any]:
    for cls in schemas.CONTRACTS:
        yield pytest.param(cls, sample(cls), id=cls.__name__)
    yield pytest.param(schemas.DeclineEvent, minimal_decline(), id="DeclineEvent-minimal")
    yield pytest.param(
        schemas.DeadLetter,
        sample(schemas.DeadLetter) | {"payloadFormat": "TEXT", "payload": "x"},
        id="DeadLetter-text",
    )
    absent = {k: v for k, v in sample(schemas.DeadLetter).items() if k != "payload"} | {
        "payloadFormat": "ABSENT"
    }
    yield pytest.param(schemas.DeadLetter, absent, id="DeadLetter-absent")


@pytest.mark.parametrize(("cls", "data"), list(_valid_samples()))
def test_samples_conform_to_their_schema_and_decode(
    cls: type[schemas.ContractRecord], data: dict[str, Any]
) -> None:
    assert subset.errors(data, _schema(cls)) == []
    record = schemas.decode(cls, orjson.dumps(data))
    assert subset.errors(orjson.loads(record.encode()), _schema(cls)) == []


# --- broken samples fail both ------------------------------------------------------------------------


def _wrong_value(tp: Any) -> Any:
    if is_record(tp) or getattr(tp, "__origin__", None) is list:
        return "not-an-object-or-array"
    if tp is bool or tp is int:
        return "text"
    if is_enum(tp):
        return "NOT_A_MEMBER"
    return {"not": "a string"}


def _paths(
    cls: type[Any], data: dict[str, Any], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, type) of every field present in `data`, nested objects included (not list items)."""
    for field in wire_fields(cls):
        if field.spec.unknown or field.spec.version or field.wire not in data or field.type is Any:
            continue
        yield (*prefix, field.wire), field.type
        if is_record(field.type):
            yield from _paths(field.type, data[field.wire], (*prefix, field.wire))


def _broken_samples() -> Iterator[Any]:
    for cls in schemas.CONTRACTS:
        base = sample(cls)
        for path, tp in _paths(cls, base):
            yield pytest.param(
                cls, _replace(base, path, _wrong_value(tp)), id=f"{cls.__name__}.{'.'.join(path)}-type"
            )
            if not _optional(cls, path):
                yield pytest.param(
                    cls, _replace(base, path, ...), id=f"{cls.__name__}.{'.'.join(path)}-missing"
                )
    decline = sample(schemas.DeclineEvent)
    del decline["shipping"]
    yield pytest.param(schemas.DeclineEvent, decline, id="DeclineEvent-physical-without-shipping")
    status = sample(schemas.PaymentStatusChanged) | {"recovered": True}
    yield pytest.param(schemas.PaymentStatusChanged, status, id="PaymentStatusChanged-recovered")
    letter = sample(schemas.DeadLetter) | {"payloadFormat": "TEXT"}
    yield pytest.param(schemas.DeadLetter, letter, id="DeadLetter-text-with-object")
    for cls in schemas.CONTRACTS:
        yield pytest.param(cls, sample(cls) | {"schemaVersion": 2}, id=f"{cls.__name__}-version-2")


def _optional(cls: type[Any], path: tuple[str, ...]) -> bool:
    for name in path:
        field = next(f for f in wire_fields(cls) if f.wire == name)
        if field.optional:
            return True
        cls = field.type
    return False


def _replace(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node = out
    for name in path[:-1]:
        node = node[name]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


@pytest.mark.parametrize(("cls", "data"), list(_broken_samples()))
def test_broken_samples_fail_both_schema_and_decoder(
    cls: type[schemas.ContractRecord], data: dict[str, Any]
) -> None:
    assert subset.errors(data, _schema(cls)) != [], "the schema accepts it"
    with pytest.raises(schemas.SchemaError):
        schemas.decode(cls, orjson.dumps(data))
