"""The demo producer and the progress reader against a real broker (fresh topics per test)."""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import Producer

from schemas import (
    DeclineEvent,
    OrderCancelled,
    PaymentSettledElsewhere,
    PaymentStatus,
    PaymentStatusChanged,
    StatusCause,
)
from streams.broker.client_config import confluent_config
from streams.local.demo import MessageKind, produce
from streams.local.progress import watch
from streams.settings import Settings
from tests.fixtures.broker import TopicFactory, consume

pytestmark = pytest.mark.integration

PARTITIONS = 4


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (the Java client's `Utils.murmur2`), as an unsigned 32-bit number."""
    m, r, mask = 0x5BD1E995, 24, 0xFFFFFFFF
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    tail = data[length - length % 4 :]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def kafka_partition(key: bytes, partitions: int) -> int:
    """Where Kafka's default partitioner (and faust, and murmur2_random) puts a non-null key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def test_murmur2_matches_kafkas_reference_values() -> None:
    # Values from the Java client's UtilsTest.testMurmur2 (signed ints there).
    cases = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for data, signed in cases.items():
        assert murmur2(data) == signed & 0xFFFFFFFF


def demo_settings(kafka_settings: Settings, topic_factory: TopicFactory) -> Settings:
    return dataclasses.replace(
        kafka_settings,
        topic_partitions=PARTITIONS,
        topic_declines=topic_factory(PARTITIONS, "declines"),
        topic_order_cancelled=topic_factory(PARTITIONS, "cancelled"),
        topic_settled_elsewhere=topic_factory(PARTITIONS, "settled"),
        topic_status=topic_factory(PARTITIONS, "status"),
    )


def test_demo_records_arrive_decodable_keyed_and_on_the_murmur2_partition(
    kafka_settings: Settings, kafka_config: dict[str, Any], topic_factory: TopicFactory
) -> None:
    settings = demo_settings(kafka_settings, topic_factory)

    stats = produce(settings, rate=0, seed=20260301, stop=threading.Event(), count=120)

    assert stats.failed == 0
    assert sum(stats.delivered.values()) == sum(stats.sent.values())
    assert stats.sent[MessageKind.CANCEL] > 0
    assert stats.sent[MessageKind.SETTLED] > 0
    readers: list[tuple[MessageKind, str, type[DeclineEvent | OrderCancelled | PaymentSettledElsewhere]]] = [
        (MessageKind.DECLINE, settings.topic_declines, DeclineEvent),
        (MessageKind.CANCEL, settings.topic_order_cancelled, OrderCancelled),
        (MessageKind.SETTLED, settings.topic_settled_elsewhere, PaymentSettledElsewhere),
    ]
    payments: set[str] = set()
    for kind, topic, record_type in readers:
        records = consume(kafka_config, topic, stats.sent[kind], timeout=20.0)
        assert len(records) == stats.sent[kind]
        for consumed in records:
            record = record_type.decode(consumed.value)
            assert consumed.key == record.payment_id.encode()
            assert consumed.partition == kafka_partition(consumed.key, PARTITIONS)
            if kind is MessageKind.DECLINE:
                payments.add(record.payment_id)
            else:
                assert record.payment_id in payments, "stops name payments declined before"
    assert len(payments) == 120


def test_progress_reads_declines_and_deduplicated_statuses(
    kafka_settings: Settings, topic_factory: TopicFactory
) -> None:
    settings = demo_settings(kafka_settings, topic_factory)
    produce(settings, rate=0, seed=3, stop=threading.Event(), count=5)  # 5 payments, maybe 6 declines
    now = datetime.now(UTC)
    events = [
        PaymentStatusChanged.create(
            payment_id=f"p{i}",
            new_status=new,
            previous_status=PaymentStatus.PENDING,
            cause=StatusCause.WEBHOOK,
            amount=100,
            currency="USD",
            occurred_at=now,
            failure_code=code,
        )
        for i, (new, code) in enumerate(
            [
                (PaymentStatus.AUTHORIZED, None),
                (PaymentStatus.CAPTURED, None),
                (PaymentStatus.FAILED, "DO_NOT_HONOR"),
                (PaymentStatus.FAILED, "RECOVERY_WINDOW_EXPIRED"),
            ]
        )
    ]
    producer = Producer(confluent_config(settings, producer=True))
    for event in [*events, events[0]]:  # one duplicate
        producer.produce(settings.topic_status, key=event.payment_id.encode(), value=event.encode())
    assert producer.flush(10.0) == 0

    out, stop = io.StringIO(), threading.Event()
    reader = threading.Thread(
        target=watch, args=(settings,), kwargs={"stop": stop, "out": out, "interval": 0.2}
    )
    reader.start()
    try:
        deadline = time.monotonic() + 20.0
        while not complete(out.getvalue()):
            assert time.monotonic() < deadline, f"no complete progress line in 20 s:\n{out.getvalue()}"
            time.sleep(0.1)  # polling the reader's output, bounded by the deadline
    finally:
        stop.set()
        reader.join(10.0)
    assert not reader.is_alive()
    last = out.getvalue().strip().splitlines()[-1]
    assert complete(last), last


def complete(output: str) -> bool:
    """The reader's last line shows the 5 demo payments and the 4 deduplicated statuses."""
    lines = output.strip().splitlines()
    return (
        bool(lines)
        and "(5 payments)" in lines[-1]
        and ("recovered 2 | voided 0 | refunded 0 | failed 1 | expired 1 | recovery rate 50.0%" in lines[-1])
    )
