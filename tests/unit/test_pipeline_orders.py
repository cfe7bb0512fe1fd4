"""The order router's pure part: which payments an order-only cancel reaches, and when."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.merchant import OrderCancelled
from streams.pipeline.orders import (
    MAX_PAYMENTS_PER_ORDER,
    OrderRoute,
    cancel_message,
    decode_index_message,
    payment_message,
    route,
)

CANCEL = OrderCancelled(order_id="o-1", reason="customer", occurred_at=datetime(2026, 11, 1, tzinfo=UTC))


def test_a_cancel_reaches_every_payment_already_registered() -> None:
    state, _ = route(None, "p-1")
    state, _ = route(state, "p-2")
    state, forwards = route(state, CANCEL)
    assert [c.payment_id for c in forwards] == ["p-1", "p-2"]
    assert all(c.order_id == "o-1" and c.reason == "customer" for c in forwards)


def test_a_cancel_before_the_decline_reaches_the_payment_when_it_registers() -> None:
    state, forwards = route(None, CANCEL)
    assert forwards == []
    state, forwards = route(state, "p-late")
    assert [c.payment_id for c in forwards] == ["p-late"]


def test_repeats_change_nothing() -> None:
    state, _ = route(None, "p-1")
    state, _ = route(state, CANCEL)
    assert route(state, "p-1") == (None, [])
    assert route(state, CANCEL) == (None, [])


def test_an_order_keeps_a_bounded_number_of_payments() -> None:
    state: OrderRoute | None = None
    for n in range(MAX_PAYMENTS_PER_ORDER):
        state, _ = route(state, f"p-{n}")
    assert route(state, "one-too-many") == (None, [])


def test_state_and_messages_round_trip() -> None:
    state, _ = route(None, "p-1")
    state, _ = route(state, CANCEL)
    assert state is not None
    assert OrderRoute.from_bytes(state.to_bytes()) == state
    assert decode_index_message(payment_message("p-9")) == "p-9"
    assert decode_index_message(cancel_message(CANCEL)) == CANCEL
