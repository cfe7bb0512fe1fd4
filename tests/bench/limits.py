"""The limits the pipeline is compared with, measured on the same machine in the same run.

- `passthrough_rate(bootstrap, ...)`: confluent-kafka consume -> produce msgs/s on the broker:
  a topic pre-filled with `messages` records of a decline event's size, read by one consumer and
  written to another topic by one producer (murmur2, `linger.ms=5`, `acks=all`); timed from the
  first record consumed to the last one confirmed. What the broker and librdkafka can move.
- `faust_ceiling(bootstrap, ...)`: events/s of a trivial faust agent (`faust_ceiling.py`) in its
  own process with the worker's broker options, fed with pre-produced records: the framework's
  ceiling, since the pipeline is one faust agent too.
- `pipeline_floor(bootstrap, ...)`: events/s of `floor.py`, a faust agent that does per event
  only what any design meeting the brief must do for a decline (table write, Paymend create with
  raw aiohttp, table write, status record): the most the pipeline could reach with faust.
- `aiohttp_ceiling(...)`: raw aiohttp requests/s (create + get, 64 in flight) against the
  sandbox at 0 ms in its own process (`benchkit`, as `bench_sandbox.py` does): the HTTP ceiling.

Each function is one run and returns one figure; `tests.bench` repeats them.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import orjson
from confluent_kafka import Consumer, Producer

from streams.broker.topics import TopicSpec, ensure_topics
from streams.processes import spawn, terminate
from tests.bench.benchkit import SANDBOX, TOKEN, AiohttpTarget, one_run, server
from tests.fixtures.pipeline import PENDING_APPROVE, decline_event

__all__ = [
    "aiohttp_ceiling",
    "decline_payload",
    "faust_ceiling",
    "fill_topic",
    "passthrough_rate",
    "pipeline_floor",
]

PARTITIONS = 8


def decline_payload() -> bytes:
    """An encoded DeclineEvent as the pipeline receives it (~1 kB)."""
    return decline_event(f"bench-{uuid.uuid4().hex[:16]}", PENDING_APPROVE).encode()


def _producer(bootstrap: str) -> Producer:
    return Producer(
        {"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 5, "acks": "all"}
    )


def fill_topic(bootstrap: str, topic: str, messages: int, payload: bytes) -> None:
    """Create `topic` (8 partitions) and write `messages` records of `payload`, distinct keys."""
    ensure_topics({"bootstrap.servers": bootstrap}, [TopicSpec(topic, PARTITIONS)])
    producer = _producer(bootstrap)
    for index in range(messages):
        while True:
            try:
                producer.produce(topic, key=b"k%d" % index, value=payload)
                break
            except BufferError:
                producer.poll(0.05)  # local queue full: let deliveries drain
    if producer.flush(120) != 0:
        raise RuntimeError(f"{len(producer)} records to {topic} were not delivered")


def passthrough_rate(bootstrap: str, *, messages: int, timeout: float = 300.0) -> float:
    """msgs/s of one confluent-kafka consume -> produce loop (see the module docstring)."""
    source, sink = f"bench-pass-in-{uuid.uuid4().hex[:8]}", f"bench-pass-out-{uuid.uuid4().hex[:8]}"
    fill_topic(bootstrap, source, messages, decline_payload())
    ensure_topics({"bootstrap.servers": bootstrap}, [TopicSpec(sink, PARTITIONS)])
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-pass-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "partition.assignment.strategy": "range",
        }
    )
    producer = _producer(bootstrap)
    consumer.subscribe([source])
    moved, started = 0, 0.0
    deadline = time.monotonic() + timeout
    try:
        while moved < messages and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.5):
                if msg.error():
                    continue
                if not started:
                    started = time.perf_counter()
                while True:
                    try:
                        producer.produce(sink, key=msg.key(), value=msg.value())
                        break
                    except BufferError:
                        producer.poll(0.01)
                moved += 1
            producer.poll(0)
        if producer.flush(60) != 0 or moved < messages:
            raise RuntimeError(f"passthrough moved {moved} of {messages} records")
        return (messages - 1) / (time.perf_counter() - started)
    finally:
        consumer.close()


def faust_ceiling(bootstrap: str, run_dir: Path, *, events: int, timeout: float = 300.0) -> float:
    """events/s of a trivial faust agent in its own process (see `faust_ceiling.py`)."""
    return _faust_script("tests.bench.faust_ceiling", bootstrap, run_dir, events=events, timeout=timeout)


def pipeline_floor(bootstrap: str, run_dir: Path, *, events: int, timeout: float = 300.0) -> float:
    """events/s of the least a faust worker must do per decline (see `floor.py`): a table write,
    one create call with raw aiohttp to a fresh sandbox at 0 ms, a second table write and one status
    record per event."""

    async def measure() -> float:
        async with server("sandbox", SANDBOX) as url:
            return await asyncio.to_thread(
                _faust_script,
                "tests.bench.floor",
                bootstrap,
                run_dir,
                events=events,
                timeout=timeout,
                extra=[url, TOKEN],
            )

    return asyncio.run(measure())


def _faust_script(
    module: str, bootstrap: str, run_dir: Path, *, events: int, timeout: float, extra: Sequence[str] = ()
) -> float:
    """Run a faust bench script over a pre-filled topic; events/s from the result file it writes."""
    topic = f"bench-faust-{uuid.uuid4().hex[:8]}"
    fill_topic(bootstrap, topic, events, decline_payload())
    run_dir.mkdir(parents=True, exist_ok=True)
    result = run_dir / f"{topic}.json"
    argv = [sys.executable, "-m", module, bootstrap, topic, str(PARTITIONS)]
    argv += [str(events), str(result), str(run_dir / f"{topic}-data"), *extra]
    proc = spawn(argv, run_dir / f"{topic}.log")
    try:
        deadline = time.monotonic() + timeout
        while not result.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"{module} exited with {proc.returncode}; see {run_dir}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{module} saw fewer than {events} events in {timeout:g} s")
            time.sleep(0.1)  # polling for the result file, bounded by the deadline
        time.sleep(0.05)  # the file is written in one call; let it land
        data = orjson.loads(result.read_bytes())
        return float(data["events"]) / float(data["seconds"])
    finally:
        terminate(proc, 10.0, name=module)


def aiohttp_ceiling(*, seconds: float, concurrency: int = 64) -> float:
    """Raw aiohttp requests/s (create + get) against a fresh sandbox at 0 ms latency."""

    async def measure() -> float:
        async with server("sandbox", SANDBOX) as url:
            target = AiohttpTarget(url, concurrency)
            try:
                run = await one_run(url, target, index=0, seconds=seconds, concurrency=concurrency)
            finally:
                await target.aclose()
        if run.errors:
            raise RuntimeError(f"{run.errors} of {run.requests} sandbox requests failed")
        return run.rate

    return asyncio.run(measure())
