"""The closed value sets of the contracts (upper-case on the wire, as Paymend writes them).

Values are strings (`enum.StrEnum`): they compare equal to their wire text and serialize as it.
Adding a member is a compatible change for producers only; readers must be released first
(they reject values they do not know), so a new member ships as: readers, then writers.
"""

from __future__ import annotations

import enum

__all__ = [
    "GoodsType",
    "InitiatedBy",
    "ItemGoodsType",
    "PayloadFormat",
    "PaymentStatus",
    "StatusCause",
    "WebhookEventType",
]


class GoodsType(enum.StrEnum):
    """What the payment buys; shipping is required unless DIGITAL (Paymend Payment.goodsType)."""

    PHYSICAL = "PHYSICAL"
    DIGITAL = "DIGITAL"
    MIXED = "MIXED"


class ItemGoodsType(enum.StrEnum):
    """Goods type of one product item: MIXED is not allowed at item level (Paymend ProductItem)."""

    PHYSICAL = "PHYSICAL"
    DIGITAL = "DIGITAL"


class InitiatedBy(enum.StrEnum):
    """Who started the payment: the consumer, or the merchant with a card on file (Paymend Source)."""

    CONSUMER = "CONSUMER"
    MERCHANT = "MERCHANT"


class PaymentStatus(enum.StrEnum):
    """Paymend payment status (paymend-api.md §5)."""

    PENDING = "PENDING"
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"

    @property
    def recovered(self) -> bool:
        """True for the statuses that count as a recovered payment (AUTHORIZED, CAPTURED)."""
        return self in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED)


class WebhookEventType(enum.StrEnum):
    """Paymend webhook event names (paymend-api.md §6)."""

    PAYMENT_CREATED = "PAYMENT_CREATED"
    PAYMENT_AUTHORIZED = "PAYMENT_AUTHORIZED"
    PAYMENT_CAPTURED = "PAYMENT_CAPTURED"
    PAYMENT_REFUNDED = "PAYMENT_REFUNDED"
    PAYMENT_VOIDED = "PAYMENT_VOIDED"
    PAYMENT_FAILED = "PAYMENT_FAILED"

    @property
    def status(self) -> PaymentStatus:
        """The payment status the event announces (PAYMENT_CREATED -> PENDING)."""
        if self is WebhookEventType.PAYMENT_CREATED:
            return PaymentStatus.PENDING
        return PaymentStatus(self.value.removeprefix("PAYMENT_"))


class StatusCause(enum.StrEnum):
    """What made this service learn of a status change."""

    CREATE_RESPONSE = "CREATE_RESPONSE"
    WEBHOOK = "WEBHOOK"
    CAPTURE = "CAPTURE"
    VOID = "VOID"
    REFUND = "REFUND"
    RECONCILIATION = "RECONCILIATION"


class PayloadFormat(enum.StrEnum):
    """How a dead letter holds the original value: parsed JSON, text, or no value at all."""

    JSON = "JSON"
    TEXT = "TEXT"
    ABSENT = "ABSENT"
