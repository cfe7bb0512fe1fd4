"""The payment record the simulator keeps, its immutable transactions, and their JSON rendering.

A `Payment` holds what a PaymentResponse shows (the card only as a CardResponse) plus the planned
outcome of its authorization. `render` produces the new-version PaymentResponse (paymend-api.md
§4.2): `failure` only when FAILED, `transactions` only when not PENDING, timestamps ISO 8601 UTC
with milliseconds (`2025-12-15T10:22:10.123Z`). Ids: `pay_` + 22 base-62 characters (26 <= 32),
transactions `AUTH_`/`CAPT_`/`VOID_`/`REFD_` + 12 base-62 characters (as in the docs' example),
events `evt_` + 22; all from `os.urandom`, so they never repeat across restarts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from streams.sandbox.cards import Failure, Outcome

__all__ = ["Payment", "Status", "Transaction", "TxResult", "TxType", "new_id", "now_iso", "render"]


class Status(StrEnum):
    PENDING = "PENDING"
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"


class TxType(StrEnum):
    AUTHORIZATION = "AUTHORIZATION"
    CAPTURE = "CAPTURE"
    VOID = "VOID"
    REFUND = "REFUND"


class TxResult(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


_TX_PREFIX: Final = {
    TxType.AUTHORIZATION: "AUTH_",
    TxType.CAPTURE: "CAPT_",
    TxType.VOID: "VOID_",
    TxType.REFUND: "REFD_",
}
_ALPHABET: Final = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: byte -> base-62 character (`byte % 62`: a negligible bias, about 5.9 bits per character).
_TO_BASE62: Final = bytes(_ALPHABET[i % 62] for i in range(256))


def new_id(prefix: str, length: int) -> str:
    """`prefix` + `length` random base-62 characters."""
    return prefix + os.urandom(length).translate(_TO_BASE62).decode()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def failure_message(failure: Failure) -> str:
    """The old top-level `failureMessage` (legacy flag): the code in words."""
    return failure.failure_code.replace("_", " ").capitalize()


@dataclass(frozen=True, slots=True)
class Transaction:
    """One immutable attempt at an operation (docs §4.16); the amount is an integer (docs C9)."""

    id: str
    type: TxType
    amount: int
    result: TxResult
    created_at: str
    failure: Failure | None = None

    @classmethod
    def new(cls, type_: TxType, amount: int, failure: Failure | None = None, at: str = "") -> Transaction:
        result = TxResult.FAILED if failure else TxResult.SUCCEEDED
        return cls(new_id(_TX_PREFIX[type_], 12), type_, amount, result, at or now_iso(), failure)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "amount": self.amount,
            "result": self.result,
            "createdAt": self.created_at,
        }
        if self.failure is not None:
            out["failure"] = self.failure.as_dict()
        return out


#: Request fields echoed as sent, when present (after validation; the card is never echoed).
ECHOED_FIELDS: Final = ("descriptor", "source", "productItems", "consumer", "billing", "shipping")


@dataclass(slots=True)
class Payment:
    """A payment as the simulator keeps it. Mutated only by `service.PaymentService`."""

    payment_id: str
    merchant_reference: str
    amount: int
    currency: str
    capture_now: bool
    goods_type: str
    card: dict[str, Any]
    echoed: dict[str, Any]
    outcome: Outcome
    status: Status
    created_at: str
    updated_at: str
    failure: Failure | None = None
    transactions: list[Transaction] = field(default_factory=list)
    refunded: int = 0

    def add(self, tx: Transaction) -> None:
        self.transactions.append(tx)
        self.updated_at = tx.created_at


def render(payment: Payment, *, legacy_failure_fields: bool = False) -> dict[str, Any]:
    """The PaymentResponse of `payment` (new version; old failure fields on request)."""
    out: dict[str, Any] = {
        "paymentId": payment.payment_id,
        "merchantReference": payment.merchant_reference,
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "paymentMethod": {"type": "CARD", "card": payment.card},
        "captureNow": payment.capture_now,
        "goodsType": payment.goods_type,
    }
    out.update(payment.echoed)
    if payment.failure is not None and payment.status is Status.FAILED:
        out["failure"] = payment.failure.as_dict()
        if legacy_failure_fields:
            out["failureCode"] = payment.failure.failure_code
            out["failureMessage"] = failure_message(payment.failure)
    if payment.status is not Status.PENDING:
        out["transactions"] = [tx.as_dict() for tx in payment.transactions]
    out["createdAt"] = payment.created_at
    out["updatedAt"] = payment.updated_at
    return out
