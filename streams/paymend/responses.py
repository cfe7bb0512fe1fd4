"""Response bodies of the Paymend API: PaymentResponse and its parts, read tolerantly.

Owns: `PaymentResponse.from_json`, the one parser for what every endpoint returns (create,
get, capture, void, refund all answer with a PaymentResponse, paymend-api.md §4.2).

Tolerance rules (the docs exist in an old and a new version and leave much open):
- Unknown fields are ignored. Missing optional fields become None.
- Only `paymentId` and `status` are required. An unknown status is a protocol error; a status
  in any letter case is accepted (C10).
- Failures in both shapes become one `Failure`: the new nested `failure {failureCode,
  providerFailureCode}` and the old top-level `failureCode` / `failureMessage` (C7).
- Amounts are integers in minor units; the string "100" and an integral float are accepted (C9).
- `transactions` is None when absent (PENDING payments, old API) and a tuple otherwise.
- Other enum-typed fields keep an unknown value as a plain string.
- Timestamps stay the strings Paymend sent: their format is only inferred (§9.22).
- Echoed request details that hold personal data (consumer, billing, shipping, productItems) are
  not kept: the caller has them already.

A malformed body raises `PaymendProtocolError` naming the field and the type it had, never the
value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from streams.paymend.enums import GoodsType, InitiatedBy, PaymentStatus, TransactionResult, TransactionType
from streams.paymend.errors import PaymendProtocolError

__all__ = [
    "CardResponse",
    "Failure",
    "PaymentMethodResponse",
    "PaymentResponse",
    "SourceResponse",
    "Transaction",
]

_E = TypeVar("_E", bound=StrEnum)
_INTEGER = re.compile(r"-?\d{1,18}")


class _Reader:
    """Typed access to one JSON object; errors name `where.key` and the JSON type found."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise PaymendProtocolError(f"{where}: expected a JSON object, got {_kind(data)}")
        self._data: Mapping[str, Any] = data
        self._where = where

    def _get(self, key: str) -> Any:
        return self._data.get(key)

    def _bad(self, key: str, expected: str) -> PaymendProtocolError:
        return PaymendProtocolError(f"{self._where}.{key}: expected {expected}, got {_kind(self._get(key))}")

    def text(self, key: str) -> str | None:
        value = self._get(key)
        if value is None or isinstance(value, str):
            return value
        raise self._bad(key, "a string")

    def required_str(self, key: str) -> str:
        value = self.text(key)
        if not value:
            raise PaymendProtocolError(f"{self._where}.{key}: missing")
        return value

    def integer(self, key: str) -> int | None:
        value = self._get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise self._bad(key, "an integer amount")

    def boolean(self, key: str) -> bool | None:
        value = self._get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self._bad(key, "a boolean")

    def obj(self, key: str) -> _Reader | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self._bad(key, "an object")
        return _Reader(value, f"{self._where}.{key}")

    def objects(self, key: str) -> list[_Reader] | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self._bad(key, "an array")
        return [_Reader(item, f"{self._where}.{key}[{i}]") for i, item in enumerate(value)]

    def loose_enum(self, key: str, enum: type[_E]) -> _E | str | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            return enum(value)
        except ValueError:
            return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a payment or transaction failed. `message` only comes from the old API (failureMessage)."""

    failure_code: str | None = None
    provider_failure_code: str | None = None
    message: str | None = None

    @classmethod
    def _read(cls, r: _Reader) -> Failure:
        return cls(
            failure_code=r.text("failureCode"),
            provider_failure_code=r.text("providerFailureCode"),
            message=r.text("failureMessage"),
        )


@dataclass(frozen=True, slots=True)
class CardResponse:
    """The card as Paymend returns it: masked, a BIN and no PAN."""

    bin: str | None = None
    holder_name: str | None = None
    cvv_present_during_attempt: bool | None = None
    expiry_month: str | None = None
    expiry_year: str | None = None
    brand: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentMethodResponse:
    type: str | None = None
    card: CardResponse | None = None


@dataclass(frozen=True, slots=True)
class SourceResponse:
    store_id: str | None = None
    initiated_by: InitiatedBy | str | None = None


@dataclass(frozen=True, slots=True)
class Transaction:
    """One immutable attempt at an operation on a payment (new API only)."""

    id: str | None
    type: TransactionType | str | None
    result: TransactionResult | str | None
    amount: int | None = None
    failure: Failure | None = None
    created_at: str | None = None

    @classmethod
    def _read(cls, r: _Reader) -> Transaction:
        failure = r.obj("failure")
        return cls(
            id=r.text("id"),
            type=r.loose_enum("type", TransactionType),
            result=r.loose_enum("result", TransactionResult),
            amount=r.integer("amount"),
            failure=None if failure is None else Failure._read(failure),
            created_at=r.text("createdAt"),
        )


@dataclass(frozen=True, slots=True)
class PaymentResponse:
    """What every Paymend endpoint answers: the payment as Paymend sees it now."""

    payment_id: str
    status: PaymentStatus
    merchant_reference: str | None = None
    amount: int | None = None
    currency: str | None = None
    failure: Failure | None = None
    payment_method: PaymentMethodResponse | None = None
    capture_now: bool | None = None
    descriptor: str | None = None
    goods_type: GoodsType | str | None = None
    source: SourceResponse | None = None
    transactions: tuple[Transaction, ...] | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PaymentResponse:
        """Parse a decoded JSON body; raises `PaymendProtocolError` (without call context)."""
        r = _Reader(data, "PaymentResponse")
        raw_status = r.required_str("status")
        try:
            status = PaymentStatus(raw_status)
        except ValueError:
            shown = raw_status if len(raw_status) <= 40 else raw_status[:40] + "..."
            raise PaymendProtocolError(f"PaymentResponse.status: unknown status {shown!r}") from None
        transactions = r.objects("transactions")
        return cls(
            payment_id=r.required_str("paymentId"),
            status=status,
            merchant_reference=r.text("merchantReference"),
            amount=r.integer("amount"),
            currency=r.text("currency"),
            failure=_failure(r),
            payment_method=_payment_method(r.obj("paymentMethod")),
            capture_now=r.boolean("captureNow"),
            descriptor=r.text("descriptor"),
            goods_type=r.loose_enum("goodsType", GoodsType),
            source=_source(r.obj("source")),
            transactions=None if transactions is None else tuple(Transaction._read(t) for t in transactions),
            created_at=r.text("createdAt"),
            updated_at=r.text("updatedAt"),
        )


def _failure(r: _Reader) -> Failure | None:
    """Merge the new nested `failure` and the old top-level failureCode/failureMessage (C7)."""
    nested = r.obj("failure")
    new = None if nested is None else Failure._read(nested)
    old_code, old_message = r.text("failureCode"), r.text("failureMessage")
    if new is None:
        if old_code is None and old_message is None:
            return None
        return Failure(failure_code=old_code, message=old_message)
    return Failure(
        failure_code=new.failure_code or old_code,
        provider_failure_code=new.provider_failure_code,
        message=new.message or old_message,
    )


def _payment_method(r: _Reader | None) -> PaymentMethodResponse | None:
    if r is None:
        return None
    card = r.obj("card")
    raw_type = r.text("type")
    return PaymentMethodResponse(
        type=None if raw_type is None else raw_type.upper(),
        card=None
        if card is None
        else CardResponse(
            bin=card.text("bin"),
            holder_name=card.text("holderName"),
            cvv_present_during_attempt=card.boolean("cvvPresentDuringAttempt"),
            expiry_month=card.text("expiryMonth"),
            expiry_year=card.text("expiryYear"),
            brand=card.text("brand"),
        ),
    )


def _source(r: _Reader | None) -> SourceResponse | None:
    if r is None:
        return None
    return SourceResponse(store_id=r.text("storeId"), initiated_by=r.loose_enum("initiatedBy", InitiatedBy))
