"""The closed vocabularies of the Paymend API, as `StrEnum`s.

Owns: the enum values the docs list (paymend-api.md §4 to §5) and how loosely they are read back.
Every enum accepts any letter case on input (the old docs write statuses in Title case, C10; the
PaymentMethod page writes `card`, C4) and always serialises as the upper-case API value.

Only `PaymentStatus` is strict in responses (an unknown status is a protocol error: the pipeline's
state machine cannot act on it). The others are echoes or informational; the response parser
keeps an unknown value as a plain string instead of failing a whole payment over it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

__all__ = [
    "GoodsType",
    "InitiatedBy",
    "PaymentMethodType",
    "PaymentStatus",
    "TransactionResult",
    "TransactionType",
]


class _ApiEnum(StrEnum):
    """A StrEnum whose lookup ignores letter case and surrounding blanks."""

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if isinstance(value, str):
            key = value.strip().upper()
            for member in cls:
                if member.value == key:
                    return member
            return cls._aliases().get(key)
        return None

    @classmethod
    def _aliases(cls) -> dict[str, Self]:
        return {}


class PaymentStatus(_ApiEnum):
    """A payment's status (paymend-api.md §5.1)."""

    PENDING = "PENDING"
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"

    @classmethod
    def _aliases(cls) -> dict[str, PaymentStatus]:
        # The old introduction page names VOIDED "Voided (or Reversed)" (C10).
        return {"REVERSED": cls.VOIDED}

    @property
    def is_terminal(self) -> bool:
        """True when no operation can move the payment any further.

        REFUNDED counts as terminal although a partial refund's status is undocumented (C6).
        """
        return self in _TERMINAL


_TERMINAL = frozenset({PaymentStatus.VOIDED, PaymentStatus.REFUNDED, PaymentStatus.FAILED})


class GoodsType(_ApiEnum):
    """What is sold: `MIXED` is allowed on a payment, not on a product item."""

    PHYSICAL = "PHYSICAL"
    DIGITAL = "DIGITAL"
    MIXED = "MIXED"


class InitiatedBy(_ApiEnum):
    """Who started the payment: the consumer, or the merchant (card on file)."""

    CONSUMER = "CONSUMER"
    MERCHANT = "MERCHANT"


class PaymentMethodType(_ApiEnum):
    """The only payment method the API supports today."""

    CARD = "CARD"


class TransactionType(_ApiEnum):
    """Transaction types: only AUTHORIZATION is in the docs; the others are inferred (§4.16)."""

    AUTHORIZATION = "AUTHORIZATION"
    CAPTURE = "CAPTURE"
    VOID = "VOID"
    REFUND = "REFUND"


class TransactionResult(_ApiEnum):
    """The outcome of one transaction."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
