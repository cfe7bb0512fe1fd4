"""Webhook authentication, as pure functions: the URL token and the HMAC signature header.

Paymend documents no signature (paymend-api.md §6), so both schemes are ours and optional:

- Token: `WEBHOOK_TOKEN`, sent by Paymend as the query parameter `WEBHOOK_TOKEN_PARAM` of the
  URL we register. Checked when the setting is set.
- Signature: `Paymend-Signature: t=<unix seconds>,v1=<hex>` with
  hex = HMAC-SHA256(key, f"{t}." + raw body) (Stripe's scheme, as `streams.sandbox.webhooks`
  sends it). Checked when `WEBHOOK_HMAC_SECRETS` holds keys; during a rotation it holds two, and
  a signature made with either is accepted. A header may carry several `v1=` values (one per key
  the sender signs with); any match is enough. The timestamp must lie within
  `WEBHOOK_SIGNATURE_TOLERANCE_S` of our clock, in either direction (replay protection).

Every comparison is constant-time (`hmac.compare_digest`). A failure returns an `AuthFailure`
whose `reason` is a bounded metric label and whose `message` is safe to send back: it never
contains a secret, an expected digest or the body.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["AuthFailure", "check_signature", "check_token", "parse_signature", "sign"]

_MAX_HEADER_CHARS: Final = 2048
_HEX_DIGEST_CHARS: Final = 64


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """Why a request is refused with 401: `reason` is a metric label, `message` goes in the answer."""

    reason: str
    message: str


def check_token(given: str | None, expected: str | None) -> AuthFailure | None:
    """None when `expected` is None (not configured) or `given` equals it (constant time)."""
    if expected is None:
        return None
    if given is None:
        return AuthFailure("missing_token", "the webhook token is missing")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return AuthFailure("bad_token", "the webhook token is wrong")
    return None


def sign(key: bytes, timestamp: int, body: bytes) -> str:
    """The hex digest of `t.body` under `key`: what a `v1=` value must equal."""
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def parse_signature(header: str) -> tuple[int, tuple[str, ...]] | None:
    """`t=<int>,v1=<hex>[,v1=<hex>...]` -> (t, digests); None when malformed.

    Unknown schemes (`v0=`, ...) are ignored, as Stripe's verifiers do; at least one `v1` is required.
    """
    if len(header) > _MAX_HEADER_CHARS:
        return None
    timestamp: int | None = None
    digests: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return None
        if name == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                return None
            timestamp = int(value)
        elif name == "v1":
            if len(value) != _HEX_DIGEST_CHARS:
                return None
            digests.append(value.lower())
    if timestamp is None or not digests:
        return None
    return timestamp, tuple(digests)


def check_signature(
    header: str | None, body: bytes, keys: Sequence[bytes], *, now: float, tolerance_s: float
) -> AuthFailure | None:
    """None when `keys` is empty (not configured) or the header signs `body` with one of `keys`."""
    if not keys:
        return None
    if header is None:
        return AuthFailure("missing_signature", "the signature header is missing")
    parsed = parse_signature(header)
    if parsed is None:
        return AuthFailure("malformed_signature", "the signature header is not t=<unix>,v1=<hex>")
    timestamp, digests = parsed
    if abs(now - timestamp) > tolerance_s:
        return AuthFailure("stale_signature", "the signature timestamp is outside the accepted window")
    expected = [sign(key, timestamp, body).encode() for key in keys]
    # compare every pair (no early exit) so timing does not tell which key or digest matched
    matched = False
    for digest in digests:
        for candidate in expected:
            matched |= hmac.compare_digest(digest.encode(), candidate)
    if not matched:
        return AuthFailure("bad_signature", "the signature does not match")
    return None
