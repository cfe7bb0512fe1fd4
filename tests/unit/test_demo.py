"""The demo traffic generator: valid records, keys, a realistic mix, cancels after their payment,
determinism per seed, and a producer loop that sends exactly what the generator made."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message

from schemas import DeclineEvent, GoodsType, OrderCancelled, PaymentSettledElsewhere
from streams.local.demo import DemoMessage, DemoTopics, DemoTraffic, MessageKind, produce
from streams.local.demo_catalog import CARDS
from streams.sandbox.cards import OutcomeKind, decide_outcome, known_card_outcome
from streams.settings import Settings

TOPICS = DemoTopics("t.declines", "t.cancelled", "t.settled")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAYMENTS = 2000

Decoded = DeclineEvent | OrderCancelled | PaymentSettledElsewhere


def generate(seed: int = 7, payments: int = PAYMENTS) -> list[list[DemoMessage]]:
    traffic = DemoTraffic(TOPICS, seed=seed)
    return [traffic.payment(NOW + timedelta(seconds=i / 5)) for i in range(payments)]


GENERATED = generate()
MESSAGES = [m for payment in GENERATED for m in payment]


def decode(message: DemoMessage) -> Decoded:
    record_type: type[Decoded] = {
        MessageKind.DECLINE: DeclineEvent,
        MessageKind.CANCEL: OrderCancelled,
        MessageKind.SETTLED: PaymentSettledElsewhere,
    }[message.kind]
    return record_type.decode(message.value)


DECLINES = [r for m in MESSAGES if isinstance(r := decode(m), DeclineEvent)]


# --- records -----------------------------------------------------------------------------------


def test_every_record_decodes_and_is_keyed_by_its_payment_id() -> None:
    for message in MESSAGES:
        record = decode(message)
        assert message.topic == TOPICS.of(message.kind)
        assert message.key == record.payment_id == record.message_key


def test_each_payment_starts_with_its_first_decline_and_follow_ups_come_later() -> None:
    for i, payment in enumerate(GENERATED):
        first, *rest = payment
        decline = decode(first)
        assert isinstance(decline, DeclineEvent)
        assert first.delay_s == 0
        assert decline.attempt_number == 1
        assert decline.occurred_at == NOW + timedelta(seconds=i / 5)
        for message in rest:
            assert message.key == first.key
            assert message.delay_s > 0
            assert decode(message).occurred_at == decline.occurred_at + timedelta(seconds=message.delay_s)


def test_cancels_and_settlements_refer_to_earlier_payments_in_the_expected_shares() -> None:
    declined: set[str] = set()
    kinds: Counter[MessageKind] = Counter()
    double_charges = 0
    for payment in GENERATED:
        for message in payment:
            record = decode(message)
            kinds[message.kind] += 1
            if message.kind is MessageKind.DECLINE:
                declined.add(record.payment_id)
            else:
                assert record.payment_id in declined, "a stop names a payment declined before it"
            if isinstance(record, OrderCancelled):
                assert record.order_id.removeprefix("ord_") == record.payment_id.removeprefix("pay_")
            if isinstance(record, PaymentSettledElsewhere) and record.double_charge:
                double_charges += 1

    assert 0.06 < kinds[MessageKind.CANCEL] / PAYMENTS < 0.10
    assert 0.035 < kinds[MessageKind.SETTLED] / PAYMENTS < 0.065
    assert 0 < double_charges < kinds[MessageKind.SETTLED]
    second = kinds[MessageKind.DECLINE] - PAYMENTS
    assert 0.04 < second / PAYMENTS < 0.08
    assert {d.attempt_number for d in DECLINES} == {1, 2}


def test_the_mix_covers_codes_stores_currencies_and_goods() -> None:
    codes = Counter(d.provider_failure_code for d in DECLINES)
    assert set(codes) == {"05", "51", "54", "14", "91", "61"}
    assert codes.most_common(2)[0][0] in {"51", "05"}
    assert {d.currency for d in DECLINES} == {"USD", "EUR", "GBP"}
    assert len({d.store_id for d in DECLINES}) >= 4
    assert {d.goods_type for d in DECLINES} == set(GoodsType)
    assert {d.initiated_by.value for d in DECLINES} == {"CONSUMER", "MERCHANT"}


def test_shipping_is_there_except_for_digital_goods() -> None:
    for decline in DECLINES:
        assert (decline.shipping is None) == (decline.goods_type is GoodsType.DIGITAL)


def test_product_items_add_up_to_the_amount() -> None:
    with_items = [d for d in DECLINES if d.product_items]
    assert len(with_items) > PAYMENTS / 3
    for decline in with_items:
        assert decline.product_items is not None
        assert sum(i.quantity * i.unit_price for i in decline.product_items) == decline.amount


def test_cards_are_sandbox_test_cards_showing_every_outcome() -> None:
    outcomes = Counter()
    for decline in DECLINES:
        card = decline.card
        assert known_card_outcome(card.number) is not None, "only documented sandbox cards"
        outcome = decide_outcome(
            {"number": card.number, "expiryMonth": card.expiry_month, "expiryYear": card.expiry_year},
            decline.payment_id,
            now=NOW,
            seed=0,
            weights=(1, 1, 1, 1),
            decline_expired=True,
        )
        outcomes[outcome.kind] += 1
        assert len(card.cvv or "") == (4 if card.brand == "AMEX" else 3)

    assert set(outcomes) == set(OutcomeKind)
    recovering = outcomes[OutcomeKind.APPROVE] + outcomes[OutcomeKind.PENDING_APPROVE]
    assert 0.45 < recovering / len(DECLINES) < 0.7
    assert sum(w for _, w in CARDS) == 97


def test_same_seed_same_traffic_other_seed_other_payment_ids() -> None:
    assert generate(seed=7, payments=50) == GENERATED[:50]
    other = generate(seed=8, payments=50)
    assert {m.key for p in other for m in p}.isdisjoint({m.key for p in GENERATED[:50] for m in p})


def test_a_message_repr_never_shows_the_card() -> None:
    decline = next(m for m in MESSAGES if m.kind is MessageKind.DECLINE)
    number = decode(decline).card.number  # type: ignore[union-attr]
    assert number.encode() in decline.value
    assert number not in repr(decline)
    assert number not in repr(decode(decline))


# --- the producer loop -------------------------------------------------------------------------


class FakeProducer:
    """Records what was produced and confirms it on poll/flush; raises BufferError once."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.produced: list[tuple[str, bytes, bytes]] = []
        self._unconfirmed: list[tuple[Callable[[KafkaError | None, Message], None], str]] = []
        self._full_once = True

    def produce(
        self,
        topic: str,
        *,
        key: bytes,
        value: bytes,
        on_delivery: Callable[[KafkaError | None, Message], None],
    ) -> None:
        if self._full_once and len(self.produced) == 3:
            self._full_once = False
            raise BufferError("queue full")
        self.produced.append((topic, key, value))
        self._unconfirmed.append((on_delivery, topic))

    def poll(self, timeout: float) -> int:
        done, self._unconfirmed = self._unconfirmed, []
        for callback, topic in done:
            callback(None, FakeMessage(topic))  # type: ignore[arg-type]
        return len(done)

    def flush(self, timeout: float) -> int:
        self.poll(0)
        return 0


class FakeMessage:
    def __init__(self, topic: str) -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic


def settings() -> Settings:
    return Settings(
        kafka_bootstrap="127.0.0.1:1",
        topic_declines=TOPICS.declines,
        topic_order_cancelled=TOPICS.order_cancelled,
        topic_settled_elsewhere=TOPICS.settled_elsewhere,
    )


def test_a_bounded_run_sends_every_record_of_its_payments(caplog: pytest.LogCaptureFixture) -> None:
    made: list[FakeProducer] = []

    def make(config: dict[str, Any]) -> FakeProducer:
        made.append(FakeProducer(config))
        return made[-1]

    caplog.set_level(logging.DEBUG)
    stats = produce(
        settings(), rate=0, seed=7, stop=threading.Event(), count=300, now=lambda: NOW, make_producer=make
    )

    (producer,) = made
    assert producer.config["partitioner"] == "murmur2_random"
    expected = [m for p in generate(seed=7, payments=300) for m in p]
    assert sorted((m.topic, m.key.encode()) for m in expected) == sorted(
        (t, k) for t, k, _ in producer.produced
    )
    assert stats.payments == 300
    assert sum(stats.sent.values()) == len(expected) == sum(stats.delivered.values())
    assert stats.failed == 0
    for card, _ in CARDS:
        assert card.number not in caplog.text


def test_an_unbounded_run_stops_when_asked() -> None:
    stop = threading.Event()
    stop.set()

    stats = produce(settings(), rate=5, seed=1, stop=stop, make_producer=FakeProducer)

    assert stats.payments == 0


def test_an_unbounded_run_needs_a_rate() -> None:
    with pytest.raises(ValueError, match="rate"):
        produce(settings(), rate=0, seed=1, stop=threading.Event(), make_producer=FakeProducer)
