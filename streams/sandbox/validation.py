"""Request validation: mandatory, conditional and typed fields, reported by field path.

Pure functions over decoded JSON. The first problem found raises `FieldError(field, message)`,
where `field` is a dotted path such as `source.storeId`, `productItems[1].unitPrice` or
`paymentMethod.card.number`. Messages never contain the value sent (so never a PAN or a CVV).

Rules (paymend-api.md §4) and our choices where the docs are silent:
- `amount` must be a JSON integer >= 1 (a float such as 12.0 is refused; docs C9).
- `currency` is three upper-case letters; `goodsType` is PHYSICAL, DIGITAL or MIXED (exact case).
- `paymentMethod.type` is `card`, case-insensitively (docs C4); `card.number` is 12 to 19 digits
  (no Luhn check, so that test cards need not be Luhn-valid); `expiryMonth` is `01`..`12` and
  `expiryYear` four digits, both strings; `cvv`, when sent, is a string of 3 or 4 digits.
- `merchantReference` is a non-empty string of at most 255 characters (our limit).
- `source.storeId` is required (docs C3); `source.initiatedBy`, when sent, is CONSUMER or MERCHANT.
- `shipping` (an object, content not checked: its page is missing) is required unless DIGITAL.
- `consumer`, when sent, needs `firstName` and `email`; `billing`/`billing.address` must be objects.
- `productItems[]` need `id`, `name`, `quantity` >= 1, `unitPrice` >= 1, `goodsType` PHYSICAL|DIGITAL.
- `previousFailures[]` follow the new schema: `providerFailureCode` required, plus `attemptNumber`
  (>= 1) or `createdAt` (a string). Items are not checked against `amount`.
- Unknown fields are accepted and ignored.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = ["FieldError", "validate_amount_body", "validate_payment"]

_CURRENCY: Final = re.compile(r"[A-Z]{3}")
_PAN: Final = re.compile(r"[0-9]{12,19}")
_MONTH: Final = re.compile(r"0[1-9]|1[0-2]")
_YEAR: Final = re.compile(r"[0-9]{4}")
_CVV: Final = re.compile(r"[0-9]{3,4}")
GOODS_TYPES: Final = frozenset({"PHYSICAL", "DIGITAL", "MIXED"})
ITEM_GOODS_TYPES: Final = frozenset({"PHYSICAL", "DIGITAL"})
INITIATORS: Final = frozenset({"CONSUMER", "MERCHANT"})
MAX_REFERENCE: Final = 255


class FieldError(ValueError):
    """The request is invalid; `field` is the path of the first offending field (None: the body)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _object(parent: dict[str, Any], key: str, path: str, *, required: bool) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise FieldError(path, "is required")
        return None
    if not isinstance(value, dict):
        raise FieldError(path, "must be an object")
    return value


def _string(parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise FieldError(path, "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise FieldError(path, "must be a non-empty string")
    return value


def _matching(parent: dict[str, Any], key: str, path: str, pattern: re.Pattern[str], what: str) -> None:
    value = _string(parent, key, path)
    if value is not None and not pattern.fullmatch(value):
        raise FieldError(path, f"must be {what}")


def _integer(parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> int | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise FieldError(path, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FieldError(path, "must be an integer of at least 1")
    return value


def _enum(parent: dict[str, Any], key: str, path: str, allowed: frozenset[str], *, required: bool) -> None:
    value = parent.get(key)
    if value is None:
        if required:
            raise FieldError(path, "is required")
        return
    if value not in allowed:
        raise FieldError(path, f"must be one of {', '.join(sorted(allowed))}")


def _array(parent: dict[str, Any], key: str) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(key, "must be an array")
    return value


def _card(method: dict[str, Any]) -> None:
    kind = method.get("type")
    if kind is None:
        raise FieldError("paymentMethod.type", "is required")
    if not isinstance(kind, str) or kind.lower() != "card":
        raise FieldError("paymentMethod.type", "must be card (the only supported type)")
    card = _object(method, "card", "paymentMethod.card", required=True)
    assert card is not None
    p = "paymentMethod.card."
    _matching(card, "number", p + "number", _PAN, "a string of 12 to 19 digits")
    _string(card, "holderName", p + "holderName")
    _matching(card, "expiryMonth", p + "expiryMonth", _MONTH, "a two-digit month, 01 to 12")
    _matching(card, "expiryYear", p + "expiryYear", _YEAR, "a four-digit year")
    if card.get("cvv") is not None:
        _matching(card, "cvv", p + "cvv", _CVV, "a string of 3 or 4 digits")
    _string(card, "brand", p + "brand", required=False)


def _product_items(body: dict[str, Any]) -> None:
    for i, item in enumerate(_array(body, "productItems")):
        p = f"productItems[{i}]"
        if not isinstance(item, dict):
            raise FieldError(p, "must be an object")
        _string(item, "id", p + ".id")
        _string(item, "name", p + ".name")
        _integer(item, "quantity", p + ".quantity")
        _integer(item, "unitPrice", p + ".unitPrice")
        _enum(item, "goodsType", p + ".goodsType", ITEM_GOODS_TYPES, required=True)


def _previous_failures(body: dict[str, Any]) -> None:
    for i, item in enumerate(_array(body, "previousFailures")):
        p = f"previousFailures[{i}]"
        if not isinstance(item, dict):
            raise FieldError(p, "must be an object")
        _string(item, "providerFailureCode", p + ".providerFailureCode")
        _string(item, "provider", p + ".provider", required=False)
        attempt = _integer(item, "attemptNumber", p + ".attemptNumber", required=False)
        created = _string(item, "createdAt", p + ".createdAt", required=False)
        if attempt is None and created is None:
            raise FieldError(p + ".attemptNumber", "or createdAt is required")


def validate_payment(body: Any) -> dict[str, Any]:
    """Check a create-payment body; return it (as a dict) or raise `FieldError`."""
    if not isinstance(body, dict):
        raise FieldError(None, "the request body must be a JSON object")
    _integer(body, "amount", "amount")
    _matching(body, "currency", "currency", _CURRENCY, "an ISO 4217 code of three upper-case letters")
    method = _object(body, "paymentMethod", "paymentMethod", required=True)
    assert method is not None
    _card(method)
    reference = _string(body, "merchantReference", "merchantReference")
    if reference is not None and len(reference) > MAX_REFERENCE:
        raise FieldError("merchantReference", f"must be at most {MAX_REFERENCE} characters")
    _enum(body, "goodsType", "goodsType", GOODS_TYPES, required=True)
    source = _object(body, "source", "source", required=True)
    assert source is not None
    _string(source, "storeId", "source.storeId")
    _enum(source, "initiatedBy", "source.initiatedBy", INITIATORS, required=False)
    _object(body, "shipping", "shipping", required=body["goodsType"] != "DIGITAL")
    if "captureNow" in body and not isinstance(body["captureNow"], bool):
        raise FieldError("captureNow", "must be a boolean")
    _string(body, "descriptor", "descriptor", required=False)
    consumer = _object(body, "consumer", "consumer", required=False)
    if consumer is not None:
        _string(consumer, "firstName", "consumer.firstName")
        _string(consumer, "email", "consumer.email")
    billing = _object(body, "billing", "billing", required=False)
    if billing is not None:
        _object(billing, "address", "billing.address", required=False)
    _product_items(body)
    _previous_failures(body)
    return body


def validate_amount_body(body: Any, key: str) -> int | None:
    """Check a capture/refund/void body (`{}` or `{key: int >= 1}`); return the amount or None."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise FieldError(None, "the request body must be a JSON object")
    return _integer(body, key, key, required=False)
