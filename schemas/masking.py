"""Card-data masking: the one place that decides what a PAN or a CVV looks like outside a request body.

- `mask_pan("4111111111111111")` -> `"411111******1111"`: at most the first 6 and the last 4 digits
  are kept, and only when at least 5 digits stay hidden (12-14 digit PANs keep the last 4 only).
- `mask_text(text)` masks, in free text or raw payloads that are not JSON:
  * every run of 12-19 ASCII digits, optionally grouped by single spaces or dashes, that passes the
    Luhn check, including a Luhn-valid stretch inside a longer digit run (each such stretch
    keeps at most its first 6 and last 4 digits; separators and length are preserved);
  * the value after a card-data key written as JSON (`"number": "..."`, `"cvv": "123"`), so that
    truncated JSON does not leak test cards that fail the Luhn check.
- `mask_card_data(value)` returns a masked copy of a JSON-like structure: values under card-number
  keys (`number`, `cardNumber`, `pan`, ...) become `mask_pan` output (each item, for a list),
  values under security-code keys (`cvv`, `cvc`, `securityCode`, ...) become `"***"`, at any
  depth and whatever the case or `_`/`-` spelling of the key; every other string (keys included)
  goes through `mask_text`, and integers holding a Luhn-valid PAN are replaced by their masked
  string (floats are left alone: a 16-digit PAN does not survive as a float anyway).

Worst case (100 000 digits in a row) takes about 0.4 s; `DeadLetter` caps payloads at that size.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "CVV_MASK",
    "is_card_number_key",
    "is_security_code_key",
    "luhn_valid",
    "mask_card_data",
    "mask_pan",
    "mask_text",
]

CVV_MASK: Final = "***"
_MIN_PAN: Final = 12
_MAX_PAN: Final = 19
_KEEP_HEAD: Final = 6
_KEEP_TAIL: Final = 4
_MIN_HIDDEN: Final = 5

#: Normalised (lower case, letters and digits only) keys whose values are card numbers.
_PAN_KEYS: Final = frozenset(
    {
        "number",
        "cardnumber",
        "cardno",
        "pan",
        "primaryaccountnumber",
        "accountnumber",
        "ccnumber",
        "creditcardnumber",
    }
)
#: Normalised keys whose values are sensitive authentication data: always fully masked.
_SECRET_KEYS: Final = frozenset(
    {
        "cvv",
        "cvv2",
        "cvc",
        "cvc2",
        "csc",
        "securitycode",
        "cardsecuritycode",
        "cardverificationvalue",
        "track1",
        "track2",
        "trackdata",
        "pinblock",
    }
)

_DIGIT_RUN = re.compile(r"[0-9](?:[ -]?[0-9]){11,}")
_KEY_CHARS = re.compile(r"[^a-z0-9]")


def _key_pattern(keys: frozenset[str]) -> str:
    # Any `_`/`-` spelling of a normalised key: "cardnumber" also matches "card_number", "card-Number".
    return "|".join(sorted(("[_-]?".join(k) for k in keys), key=len, reverse=True))


#: `"number": "…"` or `'cvv': 123` in JSON-ish text; group 2 is the value to mask.
_KEYED_VALUE = re.compile(
    r"""(["'](?:KEYS)["']\s*:\s*["']?)([^"',}\]\r\n]*)""".replace(
        "KEYS", _key_pattern(_PAN_KEYS | _SECRET_KEYS)
    ),
    re.IGNORECASE,
)


def luhn_valid(digits: str) -> bool:
    """True when `digits` (ASCII digits only) passes the Luhn check."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _hidden_range(length: int) -> range:
    """Positions to hide in a PAN of `length` digits: keep at most 6 + 4 and hide at least 5."""
    head = _KEEP_HEAD if length - _KEEP_HEAD - _KEEP_TAIL >= _MIN_HIDDEN else 0
    return range(head, max(length - _KEEP_TAIL, head))


def mask_pan(pan: str) -> str:
    """Mask a card number: digits only in the result, e.g. `411111******1111`."""
    digits = "".join(c for c in pan if "0" <= c <= "9")
    if len(digits) < _MIN_PAN:
        return "*" * len(digits) if digits else "*" * len(pan)
    hidden = _hidden_range(len(digits))
    return "".join("*" if i in hidden else d for i, d in enumerate(digits))


def _mask_run(run: str) -> str:
    positions = [i for i, c in enumerate(run) if c != " " and c != "-"]
    digits = [ord(run[i]) - 48 for i in positions]
    hide: set[int] = set()
    for end in range(_MIN_PAN, len(digits) + 1):
        total = 0
        for k in range(1, _MAX_PAN + 1):
            start = end - k
            if start < 0:
                break
            value = digits[start]
            if k % 2 == 0:
                value = value * 2 - 9 if value > 4 else value * 2
            total += value
            if k >= _MIN_PAN and total % 10 == 0:
                hide.update(start + i for i in _hidden_range(k))
    if not hide:
        return run
    chars = list(run)
    for digit_index in hide:
        chars[positions[digit_index]] = "*"
    return "".join(chars)


def _masked_number(value: str) -> str:
    """A value under a card-number key, masked; already-masked values are kept (idempotence)."""
    digits = sum("0" <= c <= "9" for c in value)
    if digits >= _MIN_PAN:
        return mask_pan(value)
    if "*" in value and digits <= _KEEP_HEAD + _KEEP_TAIL:
        return value
    return "*" * len(value)


def _mask_keyed(match: re.Match[str]) -> str:
    prefix, value = match.group(1), match.group(2)
    key = _KEY_CHARS.sub("", prefix.split(":", 1)[0].lower())
    if key in _SECRET_KEYS:
        return prefix + (CVV_MASK if value else "")
    return prefix + _masked_number(value)


def mask_text(text: str) -> str:
    """Mask Luhn-valid card numbers and JSON-keyed card data in free text (see the module doc)."""
    keyed = _KEYED_VALUE.sub(_mask_keyed, text)
    return _DIGIT_RUN.sub(lambda m: _mask_run(m.group(0)), keyed)


def _normalise_key(key: str) -> str:
    return _KEY_CHARS.sub("", key.lower())


def is_card_number_key(key: str) -> bool:
    """True for keys whose values are card numbers (`number`, `cardNumber`, `card_number`, `PAN`...)."""
    return _normalise_key(key) in _PAN_KEYS


def is_security_code_key(key: str) -> bool:
    """True for keys whose values are security codes or track data (`cvv`, `securityCode`...)."""
    return _normalise_key(key) in _SECRET_KEYS


def _mask_pan_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [_mask_pan_value(item) for item in value]
    if isinstance(value, Mapping):
        return mask_card_data(value)
    if isinstance(value, str):
        return _masked_number(value)
    return mask_pan(str(value)) if isinstance(value, int) and not isinstance(value, bool) else "***"


def mask_card_data(value: Any) -> Any:
    """A masked copy of a JSON-like value (dicts, lists, strings, numbers); the input is not changed."""
    if isinstance(value, Mapping):
        result: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and is_security_code_key(key):
                result[mask_text(key)] = None if item is None else CVV_MASK
            elif isinstance(key, str) and is_card_number_key(key):
                result[mask_text(key)] = _mask_pan_value(item)
            else:
                result[mask_text(key) if isinstance(key, str) else key] = mask_card_data(item)
        return result
    if isinstance(value, list | tuple):
        return [mask_card_data(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** (_MIN_PAN - 1):
        text = str(value)
        masked = mask_text(text)
        if masked != text:
            return masked
    if isinstance(value, float):
        # A card number too big for an integer parses as a float (1.000011111000011e+20): its
        # printed digits can still carry a card number.
        text = repr(value)
        masked = mask_text(text)
        if masked != text:
            return masked
    return value
