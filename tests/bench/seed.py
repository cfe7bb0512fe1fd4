"""Payments written straight into the `payments` table's changelog, for a worker to recover.

Seeding through the pipeline runs at its own speed (a few thousand per second at best); the
benchmarks that need a large or prepared table write `PaymentState.to_bytes()` rows directly to
the changelog topic faust recovers the table from, `<APP_ID>-payments-changelog`, keyed by
payment ID and partitioned with murmur2 as faust would (`confluent_config(producer=True)`).

- `changelog_topic(settings)`: its name; `create_changelog(settings)` creates it (compacted,
  `TOPIC_PARTITIONS` partitions) before any worker runs: Tansu would auto-create it with 4.
- `pending_payment(...)`, `settled_mix(...)`: realistic rows (a decline, Paymend's payment ID,
  the status history, the webhook event IDs and the input offsets applied that a real payment
  accumulates; no card data). The offsets refer to a past the benchmark's fresh topics do not
  have: harmless for rows no input reaches again (`settled_mix`: the traffic that follows uses new
  payment IDs), left out where inputs will come (`pending_payment`).
- `write_rows(settings, rows)`: produces them. Tansu's ListOffsets under-reports a partition's
  end when its last batch held more than one record (RESEARCH.md §1), which makes faust's
  RocksDB recovery raise ConsistencyError; so each partition's last row is held back, and sent
  as a batch of its own (explicit partition, the one murmur2 gives its key) after a flush.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aiokafka.partitioner import murmur2
from confluent_kafka import Producer

from schemas.enums import PaymentStatus, StatusCause
from streams.broker.client_config import confluent_config
from streams.broker.topics import TopicSpec, ensure_topics
from streams.pipeline.agent import TABLE_NAME
from streams.pipeline.state import DeclineInfo, PaymentState, StatusEntry
from streams.settings import Settings

__all__ = [
    "changelog_topic",
    "create_changelog",
    "paymend_id",
    "pending_payment",
    "settled_mix",
    "write_rows",
]

_STORES = tuple(f"store_{i:03d}" for i in range(40))
_CODES = ("51", "05", "91", "61", "54", "14", "96")
_CURRENCIES = ("EUR", "USD", "GBP", "SEK")


def changelog_topic(settings: Settings) -> str:
    """faust's name for the table's changelog: `<app id>-<table name>-changelog`."""
    return f"{settings.app_id}-{TABLE_NAME}-changelog"


def create_changelog(settings: Settings) -> None:
    spec = TopicSpec(
        changelog_topic(settings),
        settings.topic_partitions,
        settings.topic_replication_factor,
        {"cleanup.policy": "compact"},
    )
    ensure_topics(confluent_config(settings), [spec])


def paymend_id(payment_id: str) -> str:
    """A stable Paymend payment ID for a payment ID (so webhooks can be built without a lookup)."""
    return "pay_" + payment_id.rsplit("-", 1)[-1][:22]


def _entry(
    settings: Settings, previous: PaymentStatus | None, status: PaymentStatus, at: datetime, offset: int
) -> StatusEntry:
    failure = ("ISSUER_DECLINED", "51") if status is PaymentStatus.FAILED else (None, None)
    source = f"{settings.topic_webhooks}:{offset}"
    return StatusEntry(previous, status, StatusCause.WEBHOOK, source, at, *failure)


def _state(
    settings: Settings,
    payment_id: str,
    index: int,
    statuses: tuple[PaymentStatus, ...],
    at: datetime,
    event_id: Callable[[], str] = lambda: secrets.token_hex(11),
) -> PaymentState:
    declined = at - timedelta(seconds=5)
    history: list[StatusEntry] = []
    previous: PaymentStatus | None = None
    for step, status in enumerate(statuses):
        history.append(_entry(settings, previous, status, at + timedelta(seconds=step * 2), index * 3 + step))
        previous = status
    return PaymentState(
        payment_id=payment_id,
        order_id=f"order-{payment_id}",
        amount=1000 + index % 90_000,
        currency=_CURRENCIES[index % len(_CURRENCIES)],
        store_id=_STORES[index % len(_STORES)],
        declines=(DeclineInfo("AcquirerX", _CODES[index % len(_CODES)], 1, declined),),
        status=statuses[-1],
        paymend_payment_id=paymend_id(payment_id),
        op_seq=1,
        seen_event_ids=tuple(f"evt_{event_id()}" for _ in statuses),
        history=tuple(history),
        applied={
            settings.topic_declines: index,
            settings.topic_effects: index,
            settings.topic_webhooks: index * 3 + len(statuses) - 1,
        },
        status_since=history[-1].occurred_at,
    )


def pending_payment(settings: Settings, payment_id: str, index: int, now: datetime) -> PaymentState:
    """A payment Paymend answered PENDING (created, its PAYMENT_CREATED webhook applied).

    Without the `applied` offsets: the state takes an input at or below the offset it last
    applied from a topic for a redelivery, and the benchmark's topics start empty, so any offset
    here would make the webhooks sent next look like redeliveries.
    """
    return replace(_state(settings, payment_id, index, (PaymentStatus.PENDING,), now), applied={})


_ID = "seed-TEMPLATE0000000000000"  # replaced per row in templates
_EVT = b"EVENT00000000000000000"  # 22 characters, as secrets.token_hex(11)

_P, _A, _C, _F = PaymentStatus.PENDING, PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED, PaymentStatus.FAILED
#: One in 20 payments is still PENDING, 3 FAILED, 8 AUTHORIZED, 8 CAPTURED.
_MIX = ((_P,),) + ((_P, _F),) * 3 + ((_P, _A),) * 8 + ((_P, _A, _C),) * 8


def settled_mix(settings: Settings, count: int, *, prefix: str = "seed") -> Iterator[tuple[str, bytes]]:
    """`count` encoded payments as a merchant's table holds them after a while (see `_MIX`).

    The settled ones are 1-30 days old; the PENDING ones started just now, so reconciliation
    (which asks about PENDING payments older than RECONCILE_AFTER_S) finds nothing to do but
    scan. Rows are `PaymentState.to_bytes()` of a few hundred template states (one per kind and
    age) with the payment ID, Paymend's payment ID and the event IDs replaced by fresh ones per
    row: building 1 000 000 states one by one would take a minute.
    """
    now = datetime.now(UTC)
    templates: dict[tuple[int, int], bytes] = {}
    for index in range(count):
        payment_id = f"{prefix}-{index:08d}{secrets.token_hex(6)}"
        kind, day = index % len(_MIX), index % 30
        template = templates.get((kind, day))
        if template is None:
            statuses = _MIX[kind]
            at = now - timedelta(seconds=30) if len(statuses) == 1 else now - timedelta(days=1 + day)
            state = _state(settings, _ID, index, statuses, at, lambda: _EVT.decode())
            template = templates[(kind, day)] = state.to_bytes()
        row = template.replace(_ID.encode(), payment_id.encode())
        row = row.replace(paymend_id(_ID).encode(), paymend_id(payment_id).encode())
        while b"evt_" + _EVT in row:
            row = row.replace(b"evt_" + _EVT, b"evt_" + secrets.token_hex(11).encode(), 1)
        yield payment_id, row


def write_rows(settings: Settings, rows: Iterable[tuple[str, PaymentState | bytes]]) -> int:
    """Produce `(payment ID, state or its bytes)` rows to the changelog (see the module docstring)."""
    topic = changelog_topic(settings)
    partitions = settings.topic_partitions
    producer = Producer(
        {**confluent_config(settings, producer=True), "linger.ms": 20, "acks": "all", "batch.size": 1_000_000}
    )
    held: dict[int, tuple[bytes, bytes]] = {}
    count = 0
    for payment_id, state in rows:
        key = payment_id.encode()
        partition = (murmur2(key) & 0x7FFFFFFF) % partitions
        record = held.get(partition)
        held[partition] = (key, state if isinstance(state, bytes) else state.to_bytes())
        count += 1
        if record is not None:
            _produce(producer, topic, record, partition)
    _flush(producer)
    for partition, record in held.items():
        _produce(producer, topic, record, partition)
        _flush(producer)  # one record per request: a batch of one, whatever librdkafka would do
    return count


def _produce(producer: Producer, topic: str, record: tuple[bytes, bytes], partition: int) -> None:
    key, value = record
    while True:
        try:
            producer.produce(topic, key=key, value=value, partition=partition)
            producer.poll(0)
            return
        except BufferError:
            producer.poll(0.05)  # local queue full: let deliveries drain


def _flush(producer: Producer) -> None:
    deadline = time.monotonic() + 300
    while len(producer) and time.monotonic() < deadline:
        producer.flush(1)
    if len(producer):
        raise RuntimeError(f"{len(producer)} changelog records were not delivered")
