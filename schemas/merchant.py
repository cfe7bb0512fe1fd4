"""Records the merchant produces: a declined payment, a cancelled order, a payment settled elsewhere.

All three are keyed by the merchant's payment ID (a string); an `OrderCancelled` that carries
only an order ID has to be routed to its payment by the consumer. Producers may leave
`schemaVersion` out (it then reads as the current version).

`DeclineEvent` is the only record with card data. Keep it out of tables, logs and other topics:
`DeclineEvent.redacted()` gives a `DeclineSummary` (no card number, no CVV, no personal data) for
state and analytics.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .enums import GoodsType, InitiatedBy
from .fieldspec import wire
from .parts import Billing, Card, Consumer, ProductItem, Shipping, currency_wire, id_wire
from .record import ContractRecord

__all__ = ["DeclineEvent", "DeclineSummary", "OrderCancelled", "PaymentSettledElsewhere"]

_CODE = 64


class DeclineEvent(ContractRecord, namespace="paymend_streams.DeclineEvent"):
    """A payment the merchant's primary provider declined, with everything Paymend needs to retry it.

    Key: `paymentId`. Contains card data: repr/str are masked; use `redacted()` for state.
    `shipping` is required unless `goodsType` is DIGITAL.
    """

    VERSION_REQUIRED_ON_WIRE = False

    payment_id: str = id_wire(
        "paymentId", "The merchant's payment ID; sent to Paymend as merchantReference. Message key."
    )
    order_id: str = id_wire("orderId", "The merchant's order ID.")
    amount: int = wire("amount", "Amount in minor units (cents for USD), at least 1.", minimum=1)
    currency: str = currency_wire("currency", "ISO 4217 currency code.")
    card: Card = wire("card", "The card to charge. Sensitive.")
    consumer: Consumer = wire("consumer", "The paying customer.")
    billing: Billing = wire("billing", "Billing details.")
    goods_type: GoodsType = wire("goodsType", "What the payment buys; shipping is required unless DIGITAL.")
    store_id: str = id_wire("storeId", "The Paymend store ID (source.storeId).")
    initiated_by: InitiatedBy = wire("initiatedBy", "Who initiated the payment (source.initiatedBy).")
    provider: str = wire("provider", "The provider that declined (PreviousFailure.provider).", max_length=255)
    provider_failure_code: str = wire(
        "providerFailureCode", "The provider's decline code, e.g. 05 or 51.", max_length=_CODE
    )
    attempt_number: int = wire("attemptNumber", "Which attempt this decline was, starting at 1.", minimum=1)
    occurred_at: datetime = wire("occurredAt", "When the provider declined.")
    shipping: Shipping | None = wire(
        "shipping", "Delivery address and recipient; required unless goodsType is DIGITAL.", default=None
    )
    descriptor: str | None = wire("descriptor", "Text for the bank statement.", default=None, max_length=255)
    product_items: list[ProductItem] | None = wire("productItems", "Line items.", default=None, min_items=1)

    def _invariants(self) -> Iterable[tuple[str, str]]:
        if self.shipping is None and self.goods_type is not GoodsType.DIGITAL:
            yield "shipping", "is required when goodsType is PHYSICAL or MIXED"

    @classmethod
    def json_schema_rules(cls) -> list[dict[str, object]]:
        """The cross-field rule of `_invariants`, for the JSON Schema export."""
        return [
            {
                "if": {"properties": {"goodsType": {"const": "DIGITAL"}}},
                "else": {"required": ["shipping"], "properties": {"shipping": {"type": "object"}}},
            }
        ]

    def redacted(self) -> DeclineSummary:
        """The decline without card data or personal data: safe for tables, logs and analytics."""
        return DeclineSummary(
            payment_id=self.payment_id,
            order_id=self.order_id,
            amount=self.amount,
            currency=self.currency,
            store_id=self.store_id,
            goods_type=self.goods_type,
            initiated_by=self.initiated_by,
            provider=self.provider,
            provider_failure_code=self.provider_failure_code,
            attempt_number=self.attempt_number,
            occurred_at=self.occurred_at,
            card_bin=self.card.bin,
            card_last4=self.card.last4,
            card_brand=self.card.brand,
        )


class DeclineSummary(ContractRecord, namespace="paymend_streams.DeclineSummary"):
    """A decline without card or personal data (`DeclineEvent.redacted()`), for state and analytics."""

    payment_id: str = id_wire("paymentId", "The merchant's payment ID.")
    order_id: str = id_wire("orderId", "The merchant's order ID.")
    amount: int = wire("amount", "Amount in minor units, at least 1.", minimum=1)
    currency: str = currency_wire("currency", "ISO 4217 currency code.")
    store_id: str = id_wire("storeId", "The Paymend store ID.")
    goods_type: GoodsType = wire("goodsType", "What the payment buys.")
    initiated_by: InitiatedBy = wire("initiatedBy", "Who initiated the payment.")
    provider: str = wire("provider", "The provider that declined.", max_length=255)
    provider_failure_code: str = wire("providerFailureCode", "The provider's decline code.", max_length=_CODE)
    attempt_number: int = wire("attemptNumber", "Which attempt this decline was, starting at 1.", minimum=1)
    occurred_at: datetime = wire("occurredAt", "When the provider declined.")
    card_bin: str | None = wire(
        "cardBin",
        "First 6 digits of the card number (only for numbers of 15+ digits).",
        default=None,
        pattern=r"^[0-9]{6}$",
        hint="a string of 6 digits",
    )
    card_last4: str | None = wire(
        "cardLast4", "Last 4 digits of the card number.", default=None, pattern=r"^[0-9]{4}$", hint="4 digits"
    )
    card_brand: str | None = wire(
        "cardBrand", "Card brand as the merchant sent it.", default=None, max_length=32
    )


class OrderCancelled(ContractRecord, namespace="paymend_streams.OrderCancelled"):
    """The merchant cancelled an order: any recovery still running for it must be voided.

    May name the order only; the consumer then finds the payment by order ID.
    """

    VERSION_REQUIRED_ON_WIRE = False

    order_id: str = id_wire("orderId", "The merchant's order ID.")
    reason: str = wire(
        "reason",
        "Why the order was cancelled (free text; card numbers in it are masked).",
        max_length=2000,
        masked=True,
    )
    occurred_at: datetime = wire("occurredAt", "When the order was cancelled.")
    payment_id: str | None = id_wire(
        "paymentId", "The merchant's payment ID, when known. Message key.", default=None
    )
    store_id: str | None = id_wire("storeId", "The Paymend store ID.", default=None)


class PaymentSettledElsewhere(ContractRecord, namespace="paymend_streams.PaymentSettledElsewhere"):
    """The customer paid by other means: any recovery still running must be voided (or refunded).

    Key: `paymentId`.
    """

    VERSION_REQUIRED_ON_WIRE = False

    payment_id: str = id_wire("paymentId", "The merchant's payment ID. Message key.")
    method: str = wire("method", "How it was paid, e.g. CARD, PAYPAL, BANK_TRANSFER.", max_length=64)
    occurred_at: datetime = wire("occurredAt", "When the payment settled.")
    order_id: str | None = id_wire("orderId", "The merchant's order ID.", default=None)
    provider: str | None = wire(
        "provider", "The provider that took the payment.", default=None, max_length=255
    )
    double_charge: bool | None = wire(
        "doubleCharge", "True when the merchant knows the customer was charged twice.", default=None
    )
