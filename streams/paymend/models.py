"""Request bodies of the Paymend API: the Payment object (create), its card, source and history.

Owns: `PaymentRequest`, `PaymentMethod`, `Card`, `Source`, `PreviousFailure` (the optional
consumer, address, shipping and line-item parts are in `streams.paymend.details`): typed, frozen
values for what we send, their validation (fail before the network, with a
message that names the field but never shows its value) and `to_json()`, which gives the
documented camelCase names and leaves out every field that is None or empty.

Shapes follow paymend-api.md §4. Choices where the docs disagree or are silent:
- `source` is required (C3: the create guide and the Source page say so; the Payment table omits it).
- `PaymentMethod.type` is sent as `CARD` (C4: the create example's casing).
- `PreviousFailure` is the new version of the page (C5): provider, providerFailureCode,
  attemptNumber, createdAt.
- `Shipping` has no documented fields (§4.10): `address` plus `extra`, sent as given.

The PAN and the CVV live only in `Card`; its repr masks both. Nothing in `streams.paymend` logs a
request body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.paymend.details import (
    Billing,
    Consumer,
    JSONObject,
    ProductItem,
    Shipping,
    compact,
    require_positive_int,
    require_text,
)
from streams.paymend.enums import GoodsType, InitiatedBy, PaymentMethodType
from streams.paymend.redact import mask_pan

__all__ = ["Card", "PaymentMethod", "PaymentRequest", "PreviousFailure", "Source"]

_DIGITS = re.compile(r"\d+")
_CURRENCY = re.compile(r"[A-Z]{3}")
_MONTHS = frozenset(f"{m:02d}" for m in range(1, 13))


@dataclass(frozen=True, slots=True, repr=False)
class Card:
    """A card as sent to Paymend. repr shows `number='444444******0000'` and `cvv='***'`."""

    number: str
    holder_name: str
    expiry_month: str
    expiry_year: str
    cvv: str | None = None
    brand: str | None = None

    def __post_init__(self) -> None:
        # Messages name the field, never the value.
        if not isinstance(self.number, str) or not _DIGITS.fullmatch(self.number):
            raise ValueError("card number must be digits only")
        if not 12 <= len(self.number) <= 19:
            raise ValueError("card number must be 12 to 19 digits")
        if self.cvv is not None and not (_DIGITS.fullmatch(self.cvv) and 3 <= len(self.cvv) <= 4):
            raise ValueError("card cvv must be 3 or 4 digits")
        require_text(self.holder_name, "card holderName")
        if self.expiry_month not in _MONTHS:
            raise ValueError("card expiryMonth must be two digits, 01 to 12")
        if not (
            isinstance(self.expiry_year, str) and len(self.expiry_year) == 4 and self.expiry_year.isdigit()
        ):
            raise ValueError("card expiryYear must be four digits")
        if self.brand is not None:
            object.__setattr__(self, "brand", self.brand.upper())

    def __repr__(self) -> str:
        cvv = None if self.cvv is None else "***"
        return (
            f"Card(number={mask_pan(self.number)!r}, holder_name={self.holder_name!r}, "
            f"expiry_month={self.expiry_month!r}, expiry_year={self.expiry_year!r}, "
            f"cvv={cvv!r}, brand={self.brand!r})"
        )

    def to_json(self) -> JSONObject:
        return compact(
            {
                "number": self.number,
                "holderName": self.holder_name,
                "cvv": self.cvv,
                "expiryMonth": self.expiry_month,
                "expiryYear": self.expiry_year,
                "brand": self.brand,
            }
        )


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    """How the consumer pays: a card (the only type the API supports)."""

    card: Card
    type: PaymentMethodType = PaymentMethodType.CARD

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", PaymentMethodType(self.type))

    def to_json(self) -> JSONObject:
        return {"type": self.type.value, "card": self.card.to_json()}


@dataclass(frozen=True, slots=True)
class Source:
    """Where the payment comes from: a Paymend store id, and who initiated it."""

    store_id: str
    initiated_by: InitiatedBy | None = None

    def __post_init__(self) -> None:
        require_text(self.store_id, "source storeId")
        if self.initiated_by is not None:
            object.__setattr__(self, "initiated_by", InitiatedBy(self.initiated_by))

    def to_json(self) -> JSONObject:
        initiated_by = None if self.initiated_by is None else self.initiated_by.value
        return compact({"storeId": self.store_id, "initiatedBy": initiated_by})


@dataclass(frozen=True, slots=True)
class PreviousFailure:
    """An earlier failed attempt at another provider (new version of the page, C5).

    `provider_failure_code` is required, and at least one of `attempt_number` and `created_at`.
    `created_at` must be timezone-aware; it is sent as ISO 8601 in UTC (`...Z`).
    """

    provider_failure_code: str
    provider: str | None = None
    attempt_number: int | None = None
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        require_text(self.provider_failure_code, "previousFailure providerFailureCode")
        if self.attempt_number is None and self.created_at is None:
            raise ValueError("previousFailure needs attemptNumber or createdAt")
        if self.attempt_number is not None:
            require_positive_int(self.attempt_number, "previousFailure attemptNumber")
        if self.created_at is not None and self.created_at.utcoffset() is None:
            raise ValueError("previousFailure createdAt must be timezone-aware")

    def to_json(self) -> JSONObject:
        created = None
        if self.created_at is not None:
            created = self.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return compact(
            {
                "provider": self.provider,
                "providerFailureCode": self.provider_failure_code,
                "attemptNumber": self.attempt_number,
                "createdAt": created,
            }
        )


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """The body of `POST /v1/payments` (the docs' Payment object, §4.1).

    `merchant_reference` is the idempotency key: a create retried after a timeout or a 5xx
    re-sends this exact body, so Paymend can recognise the payment it may already have created.
    `capture_now=None` leaves Paymend's default (authorize only).
    """

    amount: int
    currency: str
    merchant_reference: str
    goods_type: GoodsType
    payment_method: PaymentMethod
    source: Source
    capture_now: bool | None = None
    descriptor: str | None = None
    consumer: Consumer | None = None
    billing: Billing | None = None
    shipping: Shipping | None = None
    product_items: tuple[ProductItem, ...] = ()
    previous_failures: tuple[PreviousFailure, ...] = ()

    def __post_init__(self) -> None:
        require_positive_int(self.amount, "amount")
        if not isinstance(self.currency, str) or not _CURRENCY.fullmatch(self.currency):
            raise ValueError("currency must be an upper-case ISO 4217 code such as 'EUR'")
        require_text(self.merchant_reference, "merchantReference")
        object.__setattr__(self, "goods_type", GoodsType(self.goods_type))
        # An empty Shipping() would be dropped from the body: Paymend would see no shipping.
        no_shipping = self.shipping is None or not self.shipping.to_json()
        if self.goods_type is not GoodsType.DIGITAL and no_shipping:
            raise ValueError("shipping is required when goodsType is not DIGITAL")
        object.__setattr__(self, "product_items", tuple(self.product_items))
        object.__setattr__(self, "previous_failures", tuple(self.previous_failures))

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values that must never appear in a message: the PAN and the CVV."""
        card = self.payment_method.card
        return (card.number,) if card.cvv is None else (card.number, card.cvv)

    def to_json(self) -> JSONObject:
        return compact(
            {
                "amount": self.amount,
                "currency": self.currency,
                "merchantReference": self.merchant_reference,
                "goodsType": self.goods_type.value,
                "captureNow": self.capture_now,
                "descriptor": self.descriptor,
                "source": self.source.to_json(),
                "paymentMethod": self.payment_method.to_json(),
                "consumer": None if self.consumer is None else self.consumer.to_json(),
                "billing": None if self.billing is None else self.billing.to_json(),
                "shipping": None if self.shipping is None else self.shipping.to_json(),
                "productItems": [item.to_json() for item in self.product_items],
                "previousFailures": [failure.to_json() for failure in self.previous_failures],
            }
        )
