"""Builders shared by the Paymend client's unit tests: sample requests and responses, card data."""

from __future__ import annotations

from typing import Any

from streams.paymend import (
    Address,
    Billing,
    Card,
    Consumer,
    GoodsType,
    InitiatedBy,
    PaymentMethod,
    PaymentRequest,
    Shipping,
    Source,
)

#: The sandbox's approving test card (paymend-api.md §8); a CVV that no uuid or timing can contain.
PAN = "4444444444440000"
CVV = "7351"
TOKEN = "tok_sandbox_s3cr3t_value"


def card(number: str = PAN, cvv: str | None = CVV) -> Card:
    return Card(
        number=number, holder_name="John Doe", expiry_month="12", expiry_year="2030", cvv=cvv, brand="VISA"
    )


def payment_request(
    reference: str = "ORDER-1", *, goods: GoodsType = GoodsType.DIGITAL, **overrides: Any
) -> PaymentRequest:
    values: dict[str, Any] = {
        "amount": 4999,
        "currency": "EUR",
        "merchant_reference": reference,
        "goods_type": goods,
        "payment_method": PaymentMethod(card()),
        "source": Source("store_abc123", InitiatedBy.MERCHANT),
        "consumer": Consumer(first_name="John", email="john.doe@example.com"),
        "billing": Billing(Address(street="1 Main St", city="Berlin", zip="10115", country="DE")),
    }
    if goods is not GoodsType.DIGITAL:
        values["shipping"] = Shipping(Address(city="Berlin", country="DE"))
    values.update(overrides)
    return PaymentRequest(**values)


def payment_json(status: str = "AUTHORIZED", **fields: Any) -> dict[str, Any]:
    """A new-version PaymentResponse body."""
    body: dict[str, Any] = {
        "paymentId": "pay_0123456789",
        "merchantReference": "ORDER-1",
        "amount": 4999,
        "currency": "EUR",
        "status": status,
        "captureNow": False,
        "goodsType": "DIGITAL",
        "paymentMethod": {
            "type": "CARD",
            "card": {
                "bin": "44444444",
                "holderName": "John Doe",
                "cvvPresentDuringAttempt": True,
                "expiryMonth": "12",
                "expiryYear": "2030",
                "brand": "VISA",
            },
        },
        "source": {"storeId": "store_abc123", "initiatedBy": "MERCHANT"},
        "createdAt": "2025-12-15T10:22:10Z",
        "updatedAt": "2025-12-15T10:22:11Z",
    }
    body.update(fields)
    return body
