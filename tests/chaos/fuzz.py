"""Seeded generators of bad input: mutated records for the input topics, mutated webhook bodies.

A `Fuzzer` starts from the canonical sample of a contract (`tests.unit.schema_samples`) and
applies one to three mutations, drawn from:

- structural (on the parsed value): delete a field, give it a value of another type (null, bool,
  negative, 10**40, 1e308, NaN/Infinity, a list, an object, a 300 000-character string, control
  characters, full-width digits), replace the whole value by a non-object;
- textual (on the encoded bytes): random bytes, truncation, invalid UTF-8, a 5 000-deep nesting,
  an empty value, a tombstone (no value);
- the key (records only): another payment's ID, no key, an empty key, a non-UTF-8 key, a card
  number as the key.

Card numbers (`PANS`, Luhn-valid, used nowhere else in the suite) are planted on purpose, in any
field or in the key, plain or grouped by spaces or dashes, so that the scenario can look for them
everywhere afterwards. Whether a mutant is really invalid is decided by the caller's oracle
(`bad_input` uses the service's own decoders, which are the contract): the fuzzer only proposes.
`valid_odd_*` proposes valid records with a card number in a free-text field (a holder name, a
cancel reason, a failure message): the service must process them without leaking it.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Final

import schemas
from tests.unit.schema_samples import sample

__all__ = ["PANS", "FieldPath", "Fuzzer", "samples"]

#: Luhn-valid card numbers planted by the fuzzer (12-19 digits, several brands).
PANS: Final = (
    "4111111111111111",
    "5555555555554444",
    "378282246310005",
    "6011111111111117",
    "4012888888881881",
    "3530111333300000",
    "5105105105105100",
    "4000056655665556",
    "36227206271667",
    "6200000000000005",
    "4242424242424242",
    "2223003122003222",
)

FieldPath = tuple[str | int, ...]

_HUGE = 300_000


def _luhn_groups(pan: str, separator: str) -> str:
    return separator.join(pan[i : i + 4] for i in range(0, len(pan), 4))


class Fuzzer:
    """Proposes mutants, planting the card numbers `pans` (default: all of `PANS`)."""

    def __init__(self, seed: int, pans: Iterable[str] = PANS) -> None:
        self.rng = random.Random(seed)
        self.pans = sorted(pans)

    # --- card numbers --------------------------------------------------------------------------
    def pan(self) -> str:
        """One of `PANS`, plain (mostly) or grouped by spaces or dashes."""
        pan = self.rng.choice(self.pans)
        roll = self.rng.random()
        if roll < 0.15:
            return _luhn_groups(pan, " ")
        if roll < 0.25:
            return _luhn_groups(pan, "-")
        return pan

    def text_with_pan(self) -> str:
        return self.rng.choice(["card {}", "{}", "paid with {} yesterday", "{}/12/2030 cvv 737"]).format(
            self.pan()
        )

    # --- values --------------------------------------------------------------------------------
    def odd_value(self) -> Any:
        """A value of a type or size that no contract field accepts everywhere."""
        choices: list[Callable[[], Any]] = [
            lambda: None,
            lambda: self.rng.choice([True, False]),
            lambda: self.rng.choice([-1, 0, 10**40, -(10**40), 2**63]),
            lambda: self.rng.choice([1.5, 1e308, -0.0, float("nan"), float("inf")]),
            lambda: "",
            lambda: "x" * _HUGE,
            lambda: self.text_with_pan(),
            lambda: self.text_with_pan() * 2000,
            lambda: "\x00\x07ctl\x1f",
            lambda: "\uff12\uff10\uff12\uff15-\uff11\uff11",  # full-width digits
            lambda: [self.pan(), 1, None],
            lambda: {"number": self.pan(), "cvv": "737"},
            lambda: {"nested": {"deeper": [self.text_with_pan()]}},
            lambda: self.rng.choice(["NOT_A_STATUS", "2025-13-45T99:99:99Z", "EURO", "-5"]),
        ]
        return self.rng.choice(choices)()

    # --- structural mutations ------------------------------------------------------------------
    def mutate(self, data: Any) -> Any:
        """`data` (a sample's dict) with one structural mutation; may stay valid."""
        data = copy.deepcopy(data)
        paths = list(_paths(data))
        if not paths or self.rng.random() < 0.05:
            return self.rng.choice([[data], 42, "text", None, [], self.text_with_pan()])
        path = self.rng.choice(paths)
        parent = _get(data, path[:-1])
        roll = self.rng.random()
        if roll < 0.3 and isinstance(parent, dict):
            del parent[path[-1]]
        elif roll < 0.4:
            parent[path[-1]] = self.text_with_pan()
        else:
            parent[path[-1]] = self.odd_value()
        if self.rng.random() < 0.2 and isinstance(data, dict):
            data[f"extra{self.rng.randrange(100)}"] = self.odd_value()
        return data

    # --- textual mutations ---------------------------------------------------------------------
    def encode(self, data: Any) -> bytes:
        """JSON text of `data` (NaN and Infinity as JavaScript writes them: invalid JSON)."""
        return json.dumps(data, ensure_ascii=self.rng.random() < 0.5).encode()

    def garble(self, raw: bytes) -> bytes:
        """`raw` damaged at the byte level."""
        roll = self.rng.random()
        if roll < 0.2:
            return self.rng.randbytes(self.rng.randrange(0, 300))
        if roll < 0.4:
            return raw[: self.rng.randrange(0, max(1, len(raw)))]
        if roll < 0.55:
            at = self.rng.randrange(0, max(1, len(raw)))
            return raw[:at] + self.rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80"]) + raw[at:]
        if roll < 0.65:
            return b"[" * 5000 + b"]" * 5000
        if roll < 0.75:
            return b""
        if roll < 0.85:
            return self.text_with_pan().encode()
        return b"\xef\xbb\xbf" + raw + b" trailing " + self.pan().encode()

    # --- records and bodies --------------------------------------------------------------------
    def value(self, base: dict[str, Any]) -> bytes | None:
        """A mutant of `base` as a record value (None: a tombstone)."""
        if self.rng.random() < 0.02:
            return None
        data: Any = base
        for _ in range(self.rng.randint(1, 3)):
            data = self.mutate(data) if isinstance(data, dict) else data
        raw = self.encode(data)
        return self.garble(raw) if self.rng.random() < 0.25 else raw

    def key(self, payment_id: str) -> bytes | None:
        """The record's key: mostly its own payment ID, sometimes anything but."""
        roll = self.rng.random()
        if roll < 0.75:
            return payment_id.encode()
        if roll < 0.82:
            return f"other-{uuid.UUID(int=self.rng.getrandbits(128)).hex[:12]}".encode()
        if roll < 0.88:
            return self.pan().encode()
        return self.rng.choice([None, b"", b"\xff\xfe\xfd", ("k" * 10_000).encode()])

    def body(self, base: dict[str, Any]) -> bytes:
        """A mutant webhook body."""
        data: Any = base
        for _ in range(self.rng.randint(1, 3)):
            data = self.mutate(data) if isinstance(data, dict) else data
        raw = self.encode(data)
        return self.garble(raw) if self.rng.random() < 0.2 else raw

    def valid_odd(self, base: dict[str, Any], free_text: list[FieldPath]) -> dict[str, Any]:
        """`base` with a card number planted in one of its free-text fields (still valid)."""
        data = copy.deepcopy(base)
        path = self.rng.choice(free_text)
        parent = _get(data, path[:-1])
        parent[path[-1]] = self.text_with_pan()
        return data


def _paths(data: Any, prefix: FieldPath = ()) -> list[FieldPath]:
    out: list[FieldPath] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        out.append((*prefix, k))
        out.extend(_paths(v, (*prefix, k)))
    return out


def _get(data: Any, path: FieldPath) -> Any:
    for part in path:
        data = data[part]
    return data


def samples() -> dict[str, dict[str, Any]]:
    """The base sample of each input, by name."""
    webhook_body = sample(schemas.PaymendWebhookEvent)
    del webhook_body["receivedAt"], webhook_body["schemaVersion"]
    return {
        "decline": sample(schemas.DeclineEvent),
        "cancel": sample(schemas.OrderCancelled),
        "settled": sample(schemas.PaymentSettledElsewhere),
        "webhook": sample(schemas.PaymendWebhookEvent),
        "webhook_body": webhook_body,
    }
