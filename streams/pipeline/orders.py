"""Cancels that name only an order: the order → payment index and the router that completes them.

A merchant does not always know the payment ID when an order is cancelled. Such an
`OrderCancelled` is keyed by its order ID. The pipeline agent forwards it to the internal
order-index topic (keyed by order ID), where every decline also registers `orderId → paymentId`.
The router agent joins the two in the `orders` table (keyed by order ID, so co-partitioned with
the index topic) and re-publishes the cancel to the order-cancelled topic, with the payment ID
filled in and keyed by it, once for every payment of the order: at once for payments already
registered, later for payments whose declines register after the cancel.

The pipeline then handles it like any cancel. One guarantee is weaker than with a payment ID: a
decline processed before its order's cancel has been routed can reach Paymend; the payment is then
voided as soon as the routed cancel arrives. Produce cancels with `paymentId` where you have it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

import orjson
from faust.types import StreamT

from schemas.dead_letter import DeadLetter
from schemas.errors import SchemaError
from schemas.merchant import OrderCancelled
from streams.pipeline.table_options import bytes_table

if TYPE_CHECKING:
    from streams.app import Runtime

__all__ = [
    "MAX_PAYMENTS_PER_ORDER",
    "OrderRoute",
    "cancel_message",
    "decode_index_message",
    "payment_message",
    "register_order_router",
    "route",
]

logger = logging.getLogger(__name__)

VERSION: Final = 1
MAX_PAYMENTS_PER_ORDER: Final = 50
TABLE_NAME: Final = "orders"
AGENT_NAME: Final = "paymend-streams-order-router"


class IndexMessageError(ValueError):
    """An order-index message this worker cannot read."""


@dataclass(frozen=True, slots=True)
class OrderRoute:
    """What the router knows of one order: its payments and, once cancelled, the cancel."""

    payment_ids: tuple[str, ...] = ()
    cancel: OrderCancelled | None = None

    def to_bytes(self) -> bytes:
        cancel = orjson.loads(self.cancel.encode()) if self.cancel is not None else None
        return orjson.dumps({"v": VERSION, "payments": list(self.payment_ids), "cancel": cancel})

    @classmethod
    def from_bytes(cls, raw: bytes) -> OrderRoute:
        data = orjson.loads(raw)
        cancel = data.get("cancel")
        return cls(
            tuple(data.get("payments", ())),
            OrderCancelled.decode(orjson.dumps(cancel)) if cancel is not None else None,
        )


def payment_message(payment_id: str) -> bytes:
    return orjson.dumps({"v": VERSION, "type": "payment", "paymentId": payment_id})


def cancel_message(cancel: OrderCancelled) -> bytes:
    return orjson.dumps({"v": VERSION, "type": "cancel", "cancel": orjson.loads(cancel.encode())})


def decode_index_message(raw: bytes | None) -> str | OrderCancelled:
    """The registered payment ID, or the cancel to route."""
    try:
        data: dict[str, Any] = orjson.loads(raw or b"")
        if data.get("type") == "payment":
            return str(data["paymentId"])
        if data.get("type") == "cancel":
            return OrderCancelled.decode(orjson.dumps(data["cancel"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, SchemaError) as exc:
        raise IndexMessageError(f"unreadable order-index message: {type(exc).__name__}: {exc}") from None
    raise IndexMessageError(f"unknown order-index message type {data.get('type')!r}")


def route(
    state: OrderRoute | None, message: str | OrderCancelled
) -> tuple[OrderRoute | None, list[OrderCancelled]]:
    """The new state (None: unchanged) and the cancels to publish, each naming one payment."""
    current = state or OrderRoute()
    if isinstance(message, str):
        if message in current.payment_ids or len(current.payment_ids) >= MAX_PAYMENTS_PER_ORDER:
            return None, []
        updated = replace(current, payment_ids=(*current.payment_ids, message))
        cancel = current.cancel
        return updated, [] if cancel is None else [_for_payment(cancel, message)]
    if current.cancel is not None:
        return None, []  # the same order cancelled again: its payments are being stopped already
    updated = replace(current, cancel=message)
    return updated, [_for_payment(message, payment_id) for payment_id in current.payment_ids]


def _for_payment(cancel: OrderCancelled, payment_id: str) -> OrderCancelled:
    return OrderCancelled(
        order_id=cancel.order_id,
        reason=cancel.reason,
        occurred_at=cancel.occurred_at,
        payment_id=payment_id,
        store_id=cancel.store_id,
    )


def register_order_router(runtime: Runtime) -> None:
    app, topics, settings = runtime.app, runtime.topics, runtime.settings
    table = bytes_table(app, TABLE_NAME, settings)

    async def router(stream: StreamT[Any]) -> None:
        async for event in stream.events():
            message = event.message
            try:
                decoded = decode_index_message(message.value)
            except IndexMessageError as exc:
                letter = DeadLetter.from_failure(
                    source_topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    key=message.key,
                    value=message.value,
                    error=exc,
                )
                await (await topics.dead_letters.send(key=message.key, value=letter.encode()))
                runtime.metrics.dead_letter(message.topic, type(exc).__name__)
                continue
            raw = table.get(message.key)
            updated, forwards = route(OrderRoute.from_bytes(raw) if raw is not None else None, decoded)
            if updated is not None:
                table[message.key] = updated.to_bytes()
            for cancel in forwards:
                assert cancel.payment_id is not None
                logger.info("order %s cancelled: stopping payment %s", cancel.order_id, cancel.payment_id)
                # faust flushes the producer before it commits this event's offset
                await topics.order_cancelled.send(key=cancel.payment_id.encode(), value=cancel.encode())

    app.agent(topics.order_index, name=AGENT_NAME, concurrency=1)(router)
