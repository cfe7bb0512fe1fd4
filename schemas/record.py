"""The two record bases: `WireRecord` (any object on the wire) and `ContractRecord` (a topic message).

`WireRecord` is an abstract `faust.Record` with:
- `serializer="paymend-json"` and no `__faust` metadata key in the output;
- fields declared with `wire()` (camelCase wire names, constraints, descriptions);
- `__post_init__` running `check_record`, so no record is constructed with a bad value, however
  it is built (attributes assigned later are not re-checked: treat records as immutable);
- `from_data` (faust's decode path for `value_type=...` topics and `Record.loads`) going through
  the explicit validator instead of faust's permissive coercion;
- `None` fields left out of the output; unknown fields kept by `unknown_fields()` written back;
- `derive()` fixed for records whose wire names differ from their attribute names.

`ContractRecord` adds the namespace/version identity: `SCHEMA_VERSION`, a `schemaVersion` field
that must equal it, and `contract_id()` (`paymend_streams.DeclineEvent.v1`), the name of the
record's JSON Schema file, and `message_key` (the merchant's payment ID). `VERSION_REQUIRED_ON_WIRE
= False` on records produced by merchants: there a missing `schemaVersion` reads as the current
version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self

import faust
from faust.types.models import ModelT

from .codec import CODEC_NAME, json_dumps
from .fieldspec import wire, wire_fields
from .validation import check_record, decode, from_mapping

__all__ = ["ContractRecord", "WireRecord"]


class WireRecord(faust.Record, abstract=True, serializer=CODEC_NAME, include_metadata=False):
    """Base of every record of the contracts (see the module doc)."""

    def __post_init__(self) -> None:
        check_record(self)

    def _invariants(self) -> Iterable[tuple[str, str]]:
        """Cross-field rules: yield (wire field, reason) for each broken one. None by default."""
        return ()

    @classmethod
    def from_data(
        cls, data: Mapping[Any, Any], *, preferred_type: type[ModelT] | None = None
    ) -> faust.Record:
        if isinstance(data, cls):
            return data
        return from_mapping(cls, data)

    @classmethod
    def decode(cls, raw: bytes | bytearray | memoryview | str | None) -> Self:
        """Parse and validate UTF-8 JSON (see `schemas.validation.decode`)."""
        return decode(cls, raw)

    @classmethod
    def decode_mapping(cls, data: Mapping[str, Any]) -> Self:
        """Validate an already-parsed JSON object (see `schemas.validation.from_mapping`)."""
        return from_mapping(cls, data)

    def encode(self) -> bytes:
        """The wire bytes (same as `dumps()`, whatever serializer faust was told to use)."""
        return json_dumps(self)

    def _prepare_dict(self, payload: dict[str, Any]) -> dict[str, Any]:
        result = {key: value for key, value in payload.items() if value is not None}
        for field in wire_fields(type(self)):
            if field.spec.unknown:
                for key, value in (getattr(self, field.name) or {}).items():
                    result.setdefault(key, value)
        return result

    def _derive(self, *objects: ModelT, **fields: Any) -> ModelT:
        data = {field.name: getattr(self, field.name) for field in wire_fields(type(self))}
        for obj in objects:
            data.update({field.name: getattr(obj, field.name) for field in wire_fields(type(obj))})
        return type(self)(**{**data, **fields})


class ContractRecord(WireRecord, abstract=True):
    """A message on a topic: has a namespace, a major version and a `schemaVersion` field."""

    #: Major version of the contract; a breaking change means a new version and a new topic.
    SCHEMA_VERSION: ClassVar[int] = 1
    #: False where producers outside this service may leave `schemaVersion` out.
    VERSION_REQUIRED_ON_WIRE: ClassVar[bool] = True

    schema_version: int = wire(
        "schemaVersion",
        "Major version of this contract. Readers reject versions they do not know.",
        default=1,
        version=True,
    )

    @property
    def message_key(self) -> str | None:
        """The Kafka message key: the merchant's payment ID, or None where the record has none."""
        value = self.__dict__.get("payment_id")
        return value if isinstance(value, str) else None

    @classmethod
    def namespace(cls) -> str:
        """The record's namespace, e.g. `paymend_streams.DeclineEvent`."""
        return str(cls._options.namespace)

    @classmethod
    def contract_id(cls) -> str:
        """Namespace and version, e.g. `paymend_streams.DeclineEvent.v1` (the schema file's stem)."""
        return f"{cls.namespace()}.v{cls.SCHEMA_VERSION}"
