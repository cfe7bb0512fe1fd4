"""The broker package against a real broker: topic creation, co-partitioning, Tansu's lifecycle.

Most tests use the session broker (`kafka_bootstrap`); the lifecycle tests start their own
`EmbeddedBroker` and need the Tansu binary (the `local` extra).
"""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiokafka
import faust
import pytest
from aiokafka import TopicPartition
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from streams.broker.client_config import confluent_config, faust_broker_options
from streams.broker.embedded import EmbeddedBroker, free_port
from streams.broker.errors import BrokerStartError, PartitionMismatchError
from streams.broker.prompt_topic import PromptTopic
from streams.broker.topics import TopicSpec, ensure_topics, service_topics
from streams.broker.worker_consumer import true_end_offsets
from streams.settings import Settings, setting_fields
from tests.fixtures.broker import TopicFactory, consume, unique_topic_settings

pytestmark = pytest.mark.integration

#: Payment IDs as merchants send them: string keys, the same bytes in every producer.
PAYMENT_IDS = [f"pay_{uuid.uuid5(uuid.NAMESPACE_URL, f'payment/{i}').hex[:24]}" for i in range(50)]


def partition_counts(config: dict[str, Any]) -> dict[str, int]:
    metadata = AdminClient(config).list_topics(timeout=10.0)  # all topics: never auto-creates
    return {name: len(t.partitions) for name, t in metadata.topics.items()}


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `condition` until true or `timeout` seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)  # bounded polling interval
    return True


def process_gone(pid: int) -> bool:
    """No such process, or a zombie waiting for its reaper (it no longer runs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The next stdout line of `proc`, or fail after `timeout` seconds."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"no output from pid {proc.pid} within {timeout:g} s")
    return proc.stdout.readline().strip()


# --- topics ------------------------------------------------------------------------------------


def test_service_topics_are_created_with_their_partition_counts(
    kafka_settings: Settings, kafka_config: dict[str, Any], topic_factory: TopicFactory
) -> None:
    settings = unique_topic_settings(kafka_settings, topic_factory, partitions=6)
    specs = service_topics(settings)

    results = ensure_topics(kafka_config, specs, timeout=15.0)

    assert [r.spec.name for r in results] == [s.name for s in specs]
    assert all(r.created for r in results)
    counts = partition_counts(kafka_config)
    assert {s.name: counts.get(s.name) for s in specs} == {s.name: 6 for s in specs}
    topic_settings = [
        name
        for name, *_ in setting_fields()
        if name.startswith("topic_") and name not in {"topic_partitions", "topic_replication_factor"}
    ]
    assert {s.name for s in specs} == {getattr(settings, name) for name in topic_settings}


def test_ensure_topics_twice_is_idempotent(
    kafka_settings: Settings, kafka_config: dict[str, Any], topic_factory: TopicFactory
) -> None:
    specs = service_topics(unique_topic_settings(kafka_settings, topic_factory, partitions=3))
    ensure_topics(kafka_config, specs, timeout=15.0)

    again = ensure_topics(kafka_config, specs, timeout=15.0)

    assert [r.created for r in again] == [False] * len(specs)
    counts = partition_counts(kafka_config)
    assert {counts[s.name] for s in specs} == {3}


def test_partition_mismatch_raises_before_creating_anything(
    kafka_config: dict[str, Any], topic_factory: TopicFactory
) -> None:
    existing = topic_factory(3, prefix="declines")
    new = topic_factory.name("status")

    with pytest.raises(PartitionMismatchError) as caught:
        ensure_topics(kafka_config, [TopicSpec(existing, 8), TopicSpec(new, 8)], timeout=15.0)

    assert caught.value.mismatches == ((existing, 8, 3),)
    assert new not in partition_counts(kafka_config)


# --- co-partitioning ---------------------------------------------------------------------------


async def test_confluent_and_faust_producers_put_each_key_on_the_same_partition(
    kafka_settings: Settings, kafka_config: dict[str, Any], topic_factory: TopicFactory, tmp_path: Path
) -> None:
    by_confluent = topic_factory(8, prefix="copart-confluent")
    by_faust = topic_factory(8, prefix="copart-faust")
    by_default_partitioner = topic_factory(8, prefix="copart-crc32")

    for topic, config in [
        (by_confluent, confluent_config(kafka_settings, producer=True)),
        (by_default_partitioner, confluent_config(kafka_settings)),  # control: librdkafka's CRC32
    ]:
        producer = Producer(config)
        for payment_id in PAYMENT_IDS:
            producer.produce(topic, key=payment_id.encode(), value=b"{}")
        assert producer.flush(10.0) == 0

    app = faust.App(
        f"test-copart-{uuid.uuid4().hex[:8]}",
        **faust_broker_options(kafka_settings),
        store="memory://",
        datadir=str(tmp_path / "faust"),
    )
    channel = app.topic(by_faust, key_type=str, value_type=bytes)
    await app.producer.start()
    try:
        for payment_id in PAYMENT_IDS:
            await (await channel.send(key=payment_id, value=b"{}"))  # wait for the broker's ack
    finally:
        await app.producer.stop()

    def placement(topic: str) -> dict[str, int | None]:
        records = consume(kafka_config, topic, len(PAYMENT_IDS))
        return {(r.key or b"").decode(): r.partition for r in records}

    confluent, faust_, crc32 = placement(by_confluent), placement(by_faust), placement(by_default_partitioner)
    assert set(confluent) == set(faust_) == set(PAYMENT_IDS)
    wrong = {k: (confluent[k], faust_[k]) for k in PAYMENT_IDS if confluent[k] != faust_[k]}
    assert wrong == {}, f"keys on different partitions (confluent, faust): {wrong}"
    assert len(set(confluent.values())) >= 6, "50 keys should spread over most of 8 partitions"
    assert any(crc32[k] != confluent[k] for k in PAYMENT_IDS), "control: CRC32 should differ from murmur2"


# --- sending without trips through the event loop -----------------------------------------


def _completes_without_yielding(coro: Any) -> bool:
    """Run `coro` one step: True if it finished in it (it never gave the event loop a turn)."""
    try:
        coro.send(None)
    except StopIteration:
        return True
    coro.close()
    return False


async def test_a_prompt_topic_publishes_without_yielding_once_the_producer_has_started(
    kafka_settings: Settings, kafka_config: dict[str, Any], topic_factory: TopicFactory, tmp_path: Path
) -> None:
    """faust's producer buffer publishes one record per call: each yield there is a loop turn per record."""
    name = topic_factory(1, prefix="prompt")
    app = faust.App(
        f"test-prompt-{uuid.uuid4().hex[:8]}",
        **faust_broker_options(kafka_settings),
        Topic=PromptTopic,
        store="memory://",
        datadir=str(tmp_path / "faust"),
    )
    prompt = app.topic(name, key_type=bytes, value_type=bytes)
    assert isinstance(prompt, PromptTopic)
    plain = faust.Topic(app, topics=[name], key_type=bytes, value_type=bytes)
    first = prompt.as_future_message(key=b"k", value=b"before the producer started")
    await prompt.publish_message(first)  # faust's own path: it starts the producer
    try:
        assert app.producer.started
        second = prompt.as_future_message(key=b"k", value=b"sent at once")
        assert _completes_without_yielding(prompt.publish_message(second))
        # control: faust's Topic still yields here (mode's stampede); if it stops, drop PromptTopic
        assert not _completes_without_yielding(
            plain.publish_message(plain.as_future_message(key=b"k", value=b"x"))
        )
        await asyncio.wait_for(asyncio.gather(first, second), 10)
    finally:
        await app.producer.stop()
    values = [r.value for r in consume(kafka_config, name, 2)]
    assert values[:2] == [b"before the producer started", b"sent at once"]


# --- end offsets --------------------------------------------------------------------------------


async def test_end_offsets_from_a_fetch_count_every_record_of_multi_record_batches(
    kafka_settings: Settings, topic_factory: TopicFactory
) -> None:
    """faust's table recovery reads a changelog up to its end offset: it must be the real one."""
    topic = topic_factory(1, prefix="end-offsets")
    producer = Producer({**confluent_config(kafka_settings, producer=True), "linger.ms": 50})
    for size in (10, 7):  # two batches of several records each
        for index in range(size):
            producer.produce(topic, key=b"k", value=b"%d" % index)
        assert producer.flush(10.0) == 0
    consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers=kafka_settings.require_kafka_bootstrap())
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        reported = await consumer.end_offsets([tp])
        corrected = await true_end_offsets(consumer, reported)
    finally:
        await consumer.stop()

    assert corrected == {tp: 17}
    assert reported[tp] <= 17  # Tansu says 11 (the last batch's base offset + 1); Kafka says 17


# --- embedded broker lifecycle -----------------------------------------------------------------


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(log_file=tmp_path / "own.log") as broker:
        yield broker


def test_stop_leaves_no_process(tmp_path: Path) -> None:
    broker = EmbeddedBroker(log_file=tmp_path / "tansu.log").start()
    pid = broker.pid
    assert broker.running
    assert os.getsid(pid) == pid, "the broker runs in its own session"

    broker.stop()
    broker.stop()  # idempotent

    assert not broker.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


_CHILD = """
import sys
from streams.broker.embedded import EmbeddedBroker
broker = EmbeddedBroker(log_file=sys.argv[1]).start()
print(broker.pid, flush=True)
sys.stdin.read()  # until the test kills us
"""


def test_broker_dies_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path / "tansu.log")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    broker_pid = None
    try:
        broker_pid = int(read_line(parent, timeout=20.0))
        assert not process_gone(broker_pid)

        parent.kill()  # SIGKILL: no cleanup code runs in the parent
        parent.wait(timeout=5.0)

        assert wait_until(lambda: process_gone(broker_pid), timeout=5.0), "the broker outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=5.0)
        assert parent.stdin is not None
        assert parent.stdout is not None
        parent.stdin.close()
        parent.stdout.close()
        if broker_pid is not None and not process_gone(broker_pid):
            cmdline = Path(f"/proc/{broker_pid}/cmdline").read_bytes()
            if b"tansu" in cmdline:  # the pid our child started, not a reused one
                os.kill(broker_pid, signal.SIGKILL)


def test_busy_port_is_detected_and_another_port_is_used(own_broker: EmbeddedBroker, tmp_path: Path) -> None:
    offered: list[int] = []

    def busy_first() -> int:
        offered.append(own_broker.port if not offered else free_port())
        return offered[-1]

    with EmbeddedBroker(log_file=tmp_path / "second.log", port_picker=busy_first) as second:
        assert offered[0] == own_broker.port
        assert second.port == offered[-1] != own_broker.port
        assert second.running
        assert own_broker.running
        # the second broker really is another broker: a topic made there is not on the first
        name = f"only-on-second-{uuid.uuid4().hex[:8]}"
        ensure_topics({"bootstrap.servers": second.bootstrap}, [TopicSpec(name, 2)], timeout=10.0)
        assert name in partition_counts({"bootstrap.servers": second.bootstrap})
        assert name not in partition_counts({"bootstrap.servers": own_broker.bootstrap})


def test_an_explicit_busy_port_fails_with_the_log_tail(own_broker: EmbeddedBroker, tmp_path: Path) -> None:
    with pytest.raises(BrokerStartError) as caught:
        EmbeddedBroker(own_broker.port, log_file=tmp_path / "clash.log").start()

    assert "Address in use" in caught.value.log_tail
    assert own_broker.running


# --- command line ------------------------------------------------------------------------------


def test_broker_and_topics_commands(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "TOPIC_"))}
    broker_cli = subprocess.Popen(
        [sys.executable, "-m", "streams", "broker", "--log-file", str(tmp_path / "tansu.log")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        bootstrap = read_line(broker_cli, timeout=20.0)
        assert bootstrap.startswith("127.0.0.1:")

        topics = subprocess.run(
            [sys.executable, "-m", "streams", "topics", "--timeout", "10"],
            env={**env, "KAFKA_BOOTSTRAP": bootstrap, "KAFKA_EMBEDDED": "true", "TOPIC_PARTITIONS": "5"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert topics.returncode == 0, topics.stderr
        lines = topics.stdout.splitlines()
        expected = service_topics(Settings.from_env({"KAFKA_BOOTSTRAP": bootstrap}))
        assert [line.split()[0] for line in lines[1:]] == [spec.name for spec in expected]
        assert all(line.split()[1:] == ["5", "1", "created"] for line in lines[1:])
    finally:
        broker_cli.send_signal(signal.SIGTERM)
        _, stderr = broker_cli.communicate(timeout=15.0)
    assert broker_cli.returncode == 0, stderr
    pid = int(stderr.split("(pid ", 1)[1].split(",", 1)[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
