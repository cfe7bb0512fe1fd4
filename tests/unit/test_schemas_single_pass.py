"""The one-walk decode path builds what the canonical path builds, and accepts nothing it refuses."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from faust.models.fields import DatetimeField

import schemas
from schemas.fieldspec import FieldSpec, wire
from schemas.single_pass import Refused, build_once
from schemas.validation import convert_then_check
from tests.unit.schema_samples import SAMPLES, minimal_decline, sample

#: Values put in place of each field of a sample: wrong types, empty, out of range, odd forms.
ODD_VALUES: tuple[Any, ...] = (
    None, "", " ", "x" * 300, "0", "13", "-1", "abc", "2025-13-01T00:00:00Z", "2025-01-01T00:00:00",
    "2025-01-01T00:00:00Z", "usd", "USD", 0, -1, 1, 2**64 - 1, 1.5, True, False, [], [{}], {}, {"x": 1},
    "4111111111111111",
)  # fmt: skip


def _paths(node: Any, prefix: str = "") -> Iterator[str]:
    """Every field path of a JSON sample (`card.number`, `productItems[0].quantity`)."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path
            yield from _paths(value, path)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            path = f"{prefix}[{index}]"
            yield path
            yield from _paths(value, path)


def _with(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    parts = path.replace("[", ".[").lstrip(".").split(".")
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value
    return out


def _stored(record: Any) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k != "__evaluated_fields__"}


def _both(cls: type[schemas.WireRecord], data: dict[str, Any]) -> tuple[Any, Any]:
    """(one-walk result or Refused, canonical result or the SchemaError it raised)."""
    try:
        once: Any = build_once(cls, data)
    except Refused as refused:
        once = refused
    try:
        canonical: Any = convert_then_check(cls, data)
    except schemas.SchemaError as error:
        canonical = error
    return once, canonical


def _cases() -> list[tuple[type[schemas.WireRecord], dict[str, Any]]]:
    return [(cls, sample(cls)) for cls in SAMPLES] + [(schemas.DeclineEvent, minimal_decline())]


@pytest.mark.parametrize(("cls", "data"), _cases(), ids=lambda c: getattr(c, "__name__", ""))
def test_a_valid_sample_is_built_in_one_walk_as_the_canonical_path_builds_it(
    cls: type[schemas.WireRecord], data: dict[str, Any]
) -> None:
    once, canonical = _both(cls, data)
    assert isinstance(once, cls), "the one-walk path refused a valid record"
    assert _stored(once) == _stored(canonical)
    assert once.encode() == canonical.encode()


@pytest.mark.parametrize(("cls", "data"), _cases(), ids=lambda c: getattr(c, "__name__", ""))
def test_a_mutated_sample_is_refused_or_built_the_same_by_both_paths(
    cls: type[schemas.WireRecord], data: dict[str, Any]
) -> None:
    compared = refused = 0
    for path in _paths(data):
        for value in ODD_VALUES:
            mutated = _with(data, path, value)
            once, canonical = _both(cls, mutated)
            where = f"{cls.__name__}.{path} = {value!r}"
            if isinstance(canonical, schemas.SchemaError):
                assert isinstance(once, Refused), f"one-walk path accepted what canonical refuses: {where}"
                refused += 1
            elif isinstance(once, cls):
                assert _stored(once) == _stored(canonical), where
                assert orjson.loads(once.encode()) == orjson.loads(canonical.encode()), where
                compared += 1
    assert refused > 0
    assert compared > 0


def test_input_that_is_not_an_object_is_refused() -> None:
    for value in (None, [], "x", 1):
        with pytest.raises(Refused):
            build_once(schemas.OrderCancelled, value)


class _Stamped(schemas.WireRecord, namespace="tests.Stamped"):
    """A record with a faust field descriptor that converts on set: built through its __init__."""

    name: str = wire("name", "A name.")
    at: datetime = DatetimeField(
        input_name="at", output_name="at", spec=FieldSpec(wire="at", description="When.")
    )


def test_a_record_whose_descriptors_convert_is_refused_and_built_through_its_init() -> None:
    data = {"name": "x", "at": "2025-01-01T00:00:00Z"}
    with pytest.raises(Refused):
        build_once(_Stamped, data)
    assert schemas.from_mapping(_Stamped, data).at == datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(schemas.InvalidFieldError, match=r"^_Stamped\.name: "):
        schemas.from_mapping(_Stamped, {**data, "name": ""})


def test_from_mapping_still_names_the_error_the_canonical_path_names() -> None:
    data = _with(sample(schemas.DeclineEvent), "card.expiryMonth", "13")
    with pytest.raises(schemas.InvalidFieldError, match=r"^DeclineEvent\.card\.expiryMonth: must be"):
        schemas.from_mapping(schemas.DeclineEvent, data)
