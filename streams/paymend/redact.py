"""Keeping card data and secrets out of reprs, messages and logs.

Owns: the scrubbing applied to any text that comes
back from Paymend (error bodies, transport error strings) before it goes into an exception.
Paymend's error bodies are undocumented (paymend-api.md §9.1) and a validation error may echo the
offending value, so we never trust them to be free of card data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from schemas.masking import mask_pan

__all__ = ["REDACTED", "mask_pan", "scrub", "scrub_text"]

REDACTED = "[redacted]"

# 13 to 19 digits, optionally grouped by single spaces or dashes: anything shaped like a PAN.
_PAN_LIKE = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_MAX_DEPTH = 20


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret and every PAN-shaped digit run replaced by `[redacted]`."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _PAN_LIKE.sub(REDACTED, text)


def scrub(value: Any, secrets: Iterable[str] = (), _depth: int = 0) -> Any:
    """A deep copy of a JSON value with `scrub_text` applied to every string, keys included."""
    known = tuple(secrets)
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value, known)
    if isinstance(value, dict):
        return {scrub_text(str(k), known): scrub(v, known, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, known, _depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and _PAN_LIKE.fullmatch(str(value)):
        return REDACTED
    return value
