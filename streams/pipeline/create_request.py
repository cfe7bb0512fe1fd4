"""The Paymend create request for a declined payment: the one place card data meets Paymend.

Built from the `DeclineEvent` the agent holds (the only record with the card) and the declines the
state has recorded for the payment (card-free), which become `previousFailures`.
`merchantReference` is the merchant's payment ID: the idempotency key of every re-drive.
"""

from __future__ import annotations

from schemas.merchant import DeclineEvent
from schemas.parts import Address as ContractAddress
from streams.paymend.details import Address, Billing, Consumer, ProductItem, Shipping
from streams.paymend.enums import GoodsType, InitiatedBy
from streams.paymend.models import Card, PaymentMethod, PaymentRequest, PreviousFailure, Source
from streams.pipeline.state import DeclineInfo

__all__ = ["build_create_request"]


def build_create_request(
    decline: DeclineEvent, previous: tuple[DeclineInfo, ...], *, capture_now: bool
) -> PaymentRequest:
    card = decline.card
    shipping = None
    if decline.shipping is not None:
        extra = {
            k: v
            for k, v in {
                "firstName": decline.shipping.first_name,
                "lastName": decline.shipping.last_name,
                "email": decline.shipping.email,
                "phone": decline.shipping.phone,
            }.items()
            if v is not None
        }
        shipping = Shipping(_address(decline.shipping.address), extra=extra)
    consumer = decline.consumer
    return PaymentRequest(
        amount=decline.amount,
        currency=decline.currency,
        merchant_reference=decline.payment_id,
        goods_type=GoodsType(decline.goods_type.value),
        payment_method=PaymentMethod(
            Card(
                number=card.number,
                holder_name=card.holder_name,
                expiry_month=card.expiry_month,
                expiry_year=card.expiry_year,
                cvv=card.cvv,
                brand=card.brand,
            )
        ),
        source=Source(decline.store_id, InitiatedBy(decline.initiated_by.value)),
        capture_now=capture_now,
        descriptor=decline.descriptor,
        consumer=Consumer(
            first_name=consumer.first_name,
            email=consumer.email,
            last_name=consumer.last_name,
            phone=consumer.phone,
            ip=consumer.ip,
        ),
        billing=Billing(_address(decline.billing.address)),
        shipping=shipping,
        product_items=tuple(
            ProductItem(i.item_id, i.name, i.quantity, i.unit_price, GoodsType(i.goods_type.value))
            for i in decline.product_items or ()
        ),
        previous_failures=tuple(
            PreviousFailure(
                provider_failure_code=d.code,
                provider=d.provider,
                attempt_number=d.attempt,
                created_at=d.occurred_at,
            )
            for d in previous
        ),
    )


def _address(address: ContractAddress) -> Address:
    return Address(
        street=address.street,
        city=address.city,
        state=address.state,
        zip=address.zip,
        country=address.country,
    )
