"""`python -m streams demo`: realistic merchant traffic for the local stack.

Produces, at `--rate` payments per second (default 5), what a merchant would send:

- a `DeclineEvent` per payment (attempt 1), and for ~6 % a second decline of the same payment
  (attempt 2) a few seconds later. Decline codes 51, 05, 91, 61, 54 and 14 in realistic
  proportions; five stores selling in USD, EUR and GBP; PHYSICAL, MIXED and DIGITAL goods
  (DIGITAL without shipping); consumers, billing and shipping addresses, product items;
- card numbers from the sandbox's test cards (`streams.sandbox.cards`), weighted so that every
  outcome shows: approved at once, PENDING then approved, PENDING then FAILED, declined at once,
  PENDING until the recovery window ends;
- an `OrderCancelled` (with `paymentId`) for ~8 % of payments, 0.3-15 s after the decline, and a
  `PaymentSettledElsewhere` for ~5 %, 1-20 s after it (some with `doubleCharge`), so that stops
  hit recoveries that are pending, approved and still being created.

The ingredients and their weights are in `streams.local.demo_catalog`.
Every record is built with the `schemas` classes and written with `.encode()`, keyed by the
payment ID (UTF-8) through `confluent_config(settings, producer=True)` (murmur2, as faust).
`--seed` makes the traffic reproducible (payment IDs included; the default seed is random and
logged, so that a second run does not reuse the IDs of the first). `--count N` stops after N
payments, sending their remaining follow-ups at once. SIGINT/SIGTERM stop it. Card numbers are
never logged: the log has counts only.
"""

from __future__ import annotations

import argparse
import enum
import hashlib
import heapq
import logging
import math
import random
import secrets
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from schemas import (
    Address,
    Billing,
    Card,
    Consumer,
    DeclineEvent,
    GoodsType,
    InitiatedBy,
    ItemGoodsType,
    OrderCancelled,
    PaymentSettledElsewhere,
    ProductItem,
    Shipping,
)
from streams.broker.client_config import confluent_config
from streams.local import demo_catalog as catalog
from streams.local.command_support import kafka_settings_or_none, stop_on_signals
from streams.settings import Settings

__all__ = [
    "DemoMessage",
    "DemoStats",
    "DemoTopics",
    "DemoTraffic",
    "MessageKind",
    "ProducerLike",
    "add_arguments",
    "main",
    "produce",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: The merchant's first decline code (providerFailureCode), with weights.


class MessageKind(enum.StrEnum):
    DECLINE = "decline"
    CANCEL = "cancel"
    SETTLED = "settled"


@dataclass(frozen=True, slots=True)
class DemoTopics:
    declines: str
    order_cancelled: str
    settled_elsewhere: str

    @classmethod
    def from_settings(cls, settings: Settings) -> DemoTopics:
        return cls(settings.topic_declines, settings.topic_order_cancelled, settings.topic_settled_elsewhere)

    def of(self, kind: MessageKind) -> str:
        return {
            MessageKind.DECLINE: self.declines,
            MessageKind.CANCEL: self.order_cancelled,
            MessageKind.SETTLED: self.settled_elsewhere,
        }[kind]


@dataclass(frozen=True, slots=True)
class DemoMessage:
    """One record to produce, `delay_s` seconds after its payment's first decline.

    Its repr shows no value: a decline's value holds the card number.
    """

    kind: MessageKind
    topic: str
    key: str
    value: bytes = field(repr=False)
    delay_s: float


class DemoTraffic:
    """Seeded generator of merchant events: pure (no I/O, time passed in), same seed, same records."""

    def __init__(self, topics: DemoTopics, *, seed: int) -> None:
        self.topics = topics
        self._rng = random.Random(seed)
        self._tag = hashlib.blake2b(str(seed).encode(), digest_size=3).hexdigest()
        self._n = 0

    def payment(self, now: datetime) -> list[DemoMessage]:
        """The next payment's records: its decline at `now` (delay 0), then its follow-ups by delay."""
        rng = self._rng
        self._n += 1
        payment_id = f"pay_{self._tag}_{self._n:06d}"
        order_id = f"ord_{self._tag}_{self._n:06d}"
        decline = self._decline(payment_id, order_id, now)
        out = [self._message(MessageKind.DECLINE, payment_id, decline.encode(), 0.0)]
        if rng.random() < catalog.SECOND_DECLINE_SHARE:
            delay = round(rng.uniform(0.5, 4.0), 3)
            again = decline.derive(
                attempt_number=2,
                provider_failure_code=_weighted(rng, catalog.DECLINE_CODES),
                occurred_at=now + timedelta(seconds=delay),
            )
            out.append(self._message(MessageKind.DECLINE, payment_id, again.encode(), delay))
        stop = rng.random()
        if stop < catalog.CANCEL_SHARE:
            delay = round(rng.uniform(0.3, 15.0), 3)
            cancel = OrderCancelled(
                order_id=order_id,
                reason=rng.choice(catalog.CANCEL_REASONS),
                occurred_at=now + timedelta(seconds=delay),
                payment_id=payment_id,
                store_id=decline.store_id if rng.random() < 0.7 else None,
            )
            out.append(self._message(MessageKind.CANCEL, payment_id, cancel.encode(), delay))
        elif stop < catalog.CANCEL_SHARE + catalog.SETTLED_SHARE:
            delay = round(rng.uniform(1.0, 20.0), 3)
            method, provider = rng.choice(catalog.SETTLE_METHODS)
            settled = PaymentSettledElsewhere(
                payment_id=payment_id,
                method=method,
                occurred_at=now + timedelta(seconds=delay),
                order_id=order_id,
                provider=provider,
                double_charge=_weighted(rng, ((True, 4), (None, 4), (False, 2))),
            )
            out.append(self._message(MessageKind.SETTLED, payment_id, settled.encode(), delay))
        return sorted(out, key=lambda m: m.delay_s)

    def _message(self, kind: MessageKind, key: str, value: bytes, delay: float) -> DemoMessage:
        return DemoMessage(kind, self.topics.of(kind), key, value, delay)

    def _decline(self, payment_id: str, order_id: str, now: datetime) -> DeclineEvent:
        rng = self._rng
        store = _weighted(rng, catalog.STORES)
        currency = _weighted(rng, store.currencies)
        goods = _weighted(rng, catalog.GOODS)
        first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
        card = _weighted(rng, catalog.CARDS)
        amount = _amount(rng)
        billing = self._address(store.country)
        shipping = None
        if goods is not GoodsType.DIGITAL:
            same = rng.random() < 0.7
            shipping = Shipping(
                address=billing if same else self._address(store.country),
                first_name=first,
                last_name=last if same else rng.choice(catalog.LAST_NAMES),
            )
        return DeclineEvent(
            payment_id=payment_id,
            order_id=order_id,
            amount=amount,
            currency=currency,
            card=Card(
                number=card.number,
                holder_name=f"{first} {last}",
                expiry_month=f"{rng.randint(1, 12):02d}",
                expiry_year=str(now.year + rng.randint(1, 4)),
                cvv="".join(rng.choice("0123456789") for _ in range(4 if card.brand == "AMEX" else 3)),
                brand=card.brand,
            ),
            consumer=Consumer(
                first_name=first,
                email=f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 999)}@example.com".lower(),
                last_name=last,
                phone=f"+1 555 01{rng.randint(0, 99):02d}" if rng.random() < 0.6 else None,
                ip=f"203.0.113.{rng.randint(1, 254)}" if rng.random() < 0.8 else None,
            ),
            billing=Billing(address=billing),
            goods_type=goods,
            store_id=store.store_id,
            initiated_by=InitiatedBy.MERCHANT if rng.random() < 0.2 else InitiatedBy.CONSUMER,
            provider=rng.choice(catalog.PROVIDERS),
            provider_failure_code=_weighted(rng, catalog.DECLINE_CODES),
            attempt_number=1,
            occurred_at=now,
            shipping=shipping,
            descriptor=f"SHOP*{order_id[-10:].upper()}" if rng.random() < 0.5 else None,
            product_items=_items(rng, goods, amount) if rng.random() < 0.6 else None,
        )

    def _address(self, country: str) -> Address:
        city, state, zip_code, street = self._rng.choice(catalog.PLACES[country])
        return Address(street=street, city=city, state=state, zip=zip_code, country=country)


def _weighted(rng: random.Random, choices: Sequence[tuple[T, int]]) -> T:
    values = [value for value, _ in choices]
    return rng.choices(values, weights=[weight for _, weight in choices])[0]


def _amount(rng: random.Random) -> int:
    """Minor units, log-uniform from 4.99 to 499.99, ending in 99 (cents or pence)."""
    raw = math.exp(rng.uniform(math.log(499), math.log(49_999)))
    return int(raw) // 100 * 100 + 99


def _items(rng: random.Random, goods: GoodsType, amount: int) -> list[ProductItem]:
    """One or two line items adding up to `amount` (MIXED: one physical, one digital)."""
    if goods is GoodsType.MIXED:
        kinds = [ItemGoodsType.PHYSICAL, ItemGoodsType.DIGITAL]
    else:
        kind = ItemGoodsType(goods.value)
        kinds = [kind] * (2 if rng.random() < 0.3 else 1)
    prices = [amount] if len(kinds) == 1 else [int(amount * rng.uniform(0.3, 0.7))]
    if len(kinds) == 2:
        prices.append(amount - prices[0])
    items = []
    for kind, price in zip(kinds, prices, strict=True):
        sku, name = rng.choice(catalog.PRODUCTS[kind])
        items.append(ProductItem(item_id=sku, name=name, quantity=1, unit_price=price, goods_type=kind))
    return items


def _ascii(name: str) -> str:
    """`Müller` -> `Muller`, for e-mail addresses."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


# --- producing ---------------------------------------------------------------------------------


@dataclass(slots=True)
class DemoStats:
    """What a run produced: payments started, records sent and delivered by kind, failures."""

    payments: int = 0
    sent: Counter[MessageKind] = field(default_factory=Counter)
    delivered: Counter[str] = field(default_factory=Counter)  # by topic
    failed: int = 0

    def summary(self) -> str:
        kinds = ", ".join(f"{self.sent[k]} {k.value}" for k in MessageKind)
        delivered = sum(self.delivered.values())
        return f"{self.payments} payments: {kinds}; {delivered} delivered, {self.failed} failed"


class ProducerLike(Protocol):
    """The part of `confluent_kafka.Producer` the demo uses (tests pass a fake)."""

    def produce(
        self,
        topic: str,
        *,
        key: bytes,
        value: bytes,
        on_delivery: Callable[[KafkaError | None, Message], None],
    ) -> None: ...

    def poll(self, timeout: float) -> int: ...

    def flush(self, timeout: float) -> int: ...


def produce(
    settings: Settings,
    *,
    rate: float,
    seed: int,
    stop: threading.Event,
    count: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    report_every_s: float = 10.0,
    make_producer: Callable[[dict[str, Any]], ProducerLike] = Producer,
) -> DemoStats:
    """Produce demo traffic until `stop` is set or, with `count`, `count` payments were made.

    `rate` is payments per second; 0 means as fast as possible (only with `count`). With `count`,
    the follow-ups still scheduled when the last payment is made are sent at once. Waits for the
    broker to confirm everything (up to 15 s) before returning.
    """
    if rate <= 0 and count is None:
        raise ValueError("rate must be positive unless count is given")
    traffic = DemoTraffic(DemoTopics.from_settings(settings), seed=seed)
    producer = make_producer({**confluent_config(settings, producer=True), "linger.ms": 5})
    stats = DemoStats()

    def delivered(err: KafkaError | None, msg: Message) -> None:
        if err is None:
            stats.delivered[msg.topic() or ""] += 1
        else:
            stats.failed += 1
            logger.warning("delivery to %s failed: %s", msg.topic(), err)

    def send(message: DemoMessage) -> None:
        while True:
            try:
                producer.produce(
                    message.topic, key=message.key.encode(), value=message.value, on_delivery=delivered
                )
                stats.sent[message.kind] += 1
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.1)

    interval = 1.0 / rate if rate > 0 else 0.0
    scheduled: list[tuple[float, int, DemoMessage]] = []
    sequence = 0
    next_payment = next_report = clock()
    try:
        while not stop.is_set():
            moment = clock()
            while (count is None or stats.payments < count) and next_payment <= moment:
                for message in traffic.payment(now()):
                    heapq.heappush(scheduled, (next_payment + message.delay_s, sequence, message))
                    sequence += 1
                stats.payments += 1
                next_payment += interval
            done = count is not None and stats.payments >= count
            while scheduled and (done or scheduled[0][0] <= moment):
                send(heapq.heappop(scheduled)[2])
            producer.poll(0)
            if moment >= next_report:
                logger.info("demo: %s", stats.summary())
                next_report = moment + report_every_s
            if done:
                break
            upcoming = min(next_payment, scheduled[0][0] if scheduled else math.inf)
            stop.wait(min(max(0.0, upcoming - clock()), 0.5))
    finally:
        left = producer.flush(15.0)
        if left:
            stats.failed += left
            logger.warning("%d records were not confirmed by the broker", left)
    return stats


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=5.0, help="payments per second (default 5)")
    parser.add_argument(
        "--seed", type=int, default=None, help="seed for reproducible traffic (default random)"
    )
    parser.add_argument(
        "--count", type=int, default=None, help="stop after this many payments (default never)"
    )


def main(args: argparse.Namespace) -> int:
    settings = kafka_settings_or_none()
    if settings is None:
        return 2
    if args.rate <= 0 and args.count is None:
        logger.error("--rate must be positive (or give --count)")
        return 2
    seed: int = args.seed if args.seed is not None else secrets.randbits(32)
    stop = stop_on_signals()
    pace = f"{args.rate:g} payments/s" if args.rate > 0 else "as fast as possible"
    bound = "" if args.count is None else f", {args.count} payments"
    logger.info(
        "demo traffic to %s: %s%s, seed %d (Ctrl-C stops)", settings.kafka_bootstrap, pace, bound, seed
    )
    try:
        stats = produce(settings, rate=args.rate, seed=seed, stop=stop, count=args.count)
    except KafkaException as exc:
        logger.error("Kafka: %s", exc)
        return 1
    logger.info("demo stopped: %s", stats.summary())
    return 0 if stats.failed == 0 else 1
