"""The wire codec: orjson, registered with faust's codec registry as `paymend-json`.

Importing this module (which `import schemas` does) registers the codec, so records declared with
`serializer="paymend-json"` and topics with `value_serializer="paymend-json"` work in any process
that imported `schemas`. `register_codec()` does the same explicitly and is idempotent.

Encoding: faust records become their `to_representation()` (camelCase wire names, `None` fields
left out), enums their values, datetimes RFC 3339 strings (`Z` for UTC). No `__faust` metadata
key is written: the contract is plain JSON for any language.
Decoding returns plain JSON values (bad JSON raises `UndecodableError`, which does not carry the
input); turning them into a record, with validation, is `schemas.decode`.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from faust.serializers import codecs
from faust.types.models import ModelT

from .errors import UndecodableError

__all__ = ["CODEC_NAME", "PaymendJsonCodec", "json_dumps", "json_loads", "register_codec"]

#: The name records and topics use for this codec.
CODEC_NAME: Final = "paymend-json"

_OPTIONS: Final = orjson.OPT_UTC_Z


def _default(obj: Any) -> Any:
    if isinstance(obj, ModelT):
        return obj.to_representation()
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def json_dumps(obj: Any) -> bytes:
    """Encode a JSON-like value (records included) as compact UTF-8 JSON."""
    return orjson.dumps(obj, default=_default, option=_OPTIONS)


def json_loads(raw: bytes | bytearray | memoryview | str) -> Any:
    """Decode UTF-8 JSON; raises `orjson.JSONDecodeError` (a `ValueError`) on bad input."""
    return orjson.loads(raw)


class PaymendJsonCodec(codecs.Codec):
    """faust codec backed by orjson (see the module doc for the encoding rules)."""

    def _dumps(self, s: Any) -> bytes:
        return json_dumps(s)

    def _loads(self, s: bytes) -> Any:
        try:
            return json_loads(s)
        except orjson.JSONDecodeError as exc:
            # orjson keeps the whole input on the exception (`doc`): drop it, keep the position.
            raise UndecodableError(
                "message", f"is not UTF-8 JSON (line {exc.lineno}, column {exc.colno})"
            ) from None


def register_codec() -> None:
    """Register `paymend-json` with faust (idempotent; done on import of `schemas`)."""
    if not isinstance(codecs.codecs.get(CODEC_NAME), PaymendJsonCodec):
        codecs.register(CODEC_NAME, PaymendJsonCodec())


register_codec()
