"""The pipeline's own figures: declines/s end to end, and decline-to-status latency at a fixed load.

Both start a whole system (`tests.harness.system.System`: embedded broker, sandbox, one worker)
and drive it from outside with confluent-kafka, as a merchant's platform would:

- `pipeline_throughput(run_dir, latency_ms=..., declines=N)`: produce N declines at once (after a
  warm-up batch), time from the first produce to the last payment's PENDING status on the status
  topic; returns declines/s. The sandbox answers every create after `latency_ms` and keeps the
  payment PENDING for the whole run, so the figure is the create path alone (decline in -> intent
  recorded -> Paymend create -> PENDING status published), as the issue defines it. The sandbox
  sends no webhooks here (`webhooks=False`): their cost is measured by the webhook benchmark;
  `webhooks=True` turns Paymend's PAYMENT_CREATED webhook back on, for the combined figure.
- `pipeline_latency(run_dir, rate=300, seconds=S)`: offer declines at a fixed rate, one at a time
  on a clock, and measure, per payment, the time from its produce call to the moment the status
  reader received its PENDING status; returns a `Latency`: p50 and p99 in milliseconds over the
  whole run, and the same over the declines offered in its first `FIRST_WINDOW_S` seconds. The
  embedded broker's fetch cost grows with the topic (below), so the latency drifts up during a
  run; the first window shows the pipeline before the drift. A Kafka cluster has no such drift.

The status readers' fetch waits are chosen for the embedded broker, whose memory store scans a
partition's batches on every fetch: a consumer at the tail of a growing topic costs Tansu CPU in
proportion to the topic's length times its fetch rate, and that CPU is taken from the worker on a
2-core machine. A reader with a 1 ms fetch wait took 52-54 % of a core in Tansu during the
throughput run (28-33 % at 20 ms) and cost the pipeline 9 % of its rate. So the throughput reader
waits 20 ms (at most 20 ms on a run of several seconds), and the latency reader 5 ms: Tansu holds
a fetch that finds nothing for its whole wait, so a status reaches the reader up to 5 ms late
(2.5 ms on average), which the figures include.

Run alone: `python -m tests.bench.bench_pipeline [--declines N] [--latency-ms L] [--rate R]`.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from tempfile import mkdtemp

from confluent_kafka import Consumer

from tests.bench.benchkit import percentiles
from tests.fixtures.pipeline import PENDING_APPROVE, decline_event
from tests.harness.system import System

__all__ = ["FIRST_WINDOW_S", "Latency", "pipeline_latency", "pipeline_throughput"]

_WARMUP = 300
_THROUGHPUT_READER_WAIT_MS = 20
_LATENCY_READER_WAIT_MS = 5
_STAYS_PENDING_MS = "fixed:3600000"  # no payment resolves during a run

#: Seconds from the first offered decline that the early-window latency figures cover.
FIRST_WINDOW_S = 5.0


@dataclass(frozen=True, slots=True)
class Latency:
    """Decline-to-status latency in ms: over the whole run, and over its first `FIRST_WINDOW_S`."""

    p50: float
    p99: float
    first_p50: float
    first_p99: float


def _sandbox_env(latency_ms: float, webhooks: bool) -> dict[str, str]:
    env = {"SANDBOX_LATENCY_MS": f"fixed:{latency_ms:g}", "SANDBOX_PENDING_DELAY_MS": _STAYS_PENDING_MS}
    if not webhooks:
        env["SANDBOX_WEBHOOK_URL"] = ""
    return env


def _declines(count: int) -> dict[bytes, bytes]:
    """`payment ID -> encoded DeclineEvent` for `count` fresh payments (a PENDING test card)."""
    values: dict[bytes, bytes] = {}
    for _ in range(count):
        payment_id = f"bench-{uuid.uuid4().hex[:16]}"
        values[payment_id.encode()] = decline_event(payment_id, PENDING_APPROVE).encode()
    return values


def _wait_keys(consumer: Consumer, keys: set[bytes], timeout: float) -> float:
    """Poll until every key in `keys` was seen; returns the monotonic time of the last one."""
    missing = set(keys)
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while missing and time.monotonic() < deadline:
        for msg in consumer.consume(1000, 0.05):
            if not msg.error() and msg.key() in missing:
                missing.discard(msg.key())
                last = time.monotonic()
    if missing:
        raise RuntimeError(f"{len(missing)} of {len(keys)} payments got no status within {timeout:g} s")
    return last


def pipeline_throughput(
    run_dir: Path, *, latency_ms: float, declines: int, webhooks: bool = False, timeout: float = 600.0
) -> float:
    """Declines per second, end to end, with one worker (see the module docstring)."""
    with System(run_dir, sandbox_env=_sandbox_env(latency_ms, webhooks)) as system:
        system.start_worker()
        reader = system.status_reader(fetch_wait_ms=_THROUGHPUT_READER_WAIT_MS)
        try:
            warmup = _declines(_WARMUP)
            system.produce(system.settings.topic_declines, warmup.items())
            _wait_keys(reader, set(warmup), timeout)
            batch = _declines(declines)
            started = time.monotonic()
            system.produce(system.settings.topic_declines, batch.items())
            finished = _wait_keys(reader, set(batch), timeout)
        finally:
            reader.close()
        return declines / (finished - started)


def pipeline_latency(run_dir: Path, *, rate: float, seconds: float, latency_ms: float = 0.0) -> Latency:
    """Decline-to-status latency in ms at an offered load of `rate` declines/s."""
    with System(run_dir, sandbox_env=_sandbox_env(latency_ms, webhooks=False)) as system:
        system.start_worker()
        reader = system.status_reader(fetch_wait_ms=_LATENCY_READER_WAIT_MS)
        warmup = _declines(_WARMUP)
        system.produce(system.settings.topic_declines, warmup.items())
        _wait_keys(reader, set(warmup), 120)
        batch = _declines(int(rate * seconds))
        sent: dict[bytes, float] = {}
        received: dict[bytes, float] = {}
        done = threading.Event()

        def read() -> None:
            # One message per poll: `consume(n, timeout)` returns only when n messages are there
            # or the timeout ends, which would date every arrival up to the timeout late.
            deadline = time.monotonic() + seconds + 120
            while len(received) < len(batch) and time.monotonic() < deadline:
                msg = reader.poll(0.01)
                if msg is not None and not msg.error() and msg.key() in batch and msg.key() not in received:
                    received[msg.key()] = time.monotonic()
            done.set()

        thread = threading.Thread(target=read, name="status-reader")
        thread.start()
        try:
            _offer(system, batch, rate, sent)
            done.wait(seconds + 130)
        finally:
            thread.join(5)
            reader.close()
        if len(received) < len(batch):
            raise RuntimeError(f"{len(batch) - len(received)} of {len(batch)} payments got no status")
        latencies = [received[key] - sent[key] for key in batch]
        first_sent = min(sent.values())
        early = [received[k] - sent[k] for k in batch if sent[k] - first_sent < FIRST_WINDOW_S]
        return Latency(*percentiles(latencies), *percentiles(early))


def _offer(system: System, batch: Mapping[bytes, bytes], rate: float, sent: dict[bytes, float]) -> None:
    """Produce each record at its slot of a fixed-rate clock (never faster, catching up if late)."""
    producer = system.fast_producer()
    topic = system.settings.topic_declines
    start = time.monotonic()
    for index, (key, value) in enumerate(batch.items()):
        slot = start + index / rate
        while (now := time.monotonic()) < slot:
            time.sleep(min(0.001, slot - now))  # pacing the offered load, not synchronisation
        sent[key] = time.monotonic()
        producer.produce(topic, key=key, value=value)
        producer.poll(0)
    if producer.flush(30) != 0:
        raise RuntimeError("declines were not delivered")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declines", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--webhooks", action="store_true", help="sandbox sends PAYMENT_CREATED webhooks")
    parser.add_argument("--only", choices=("throughput", "latency"))
    args = parser.parse_args()
    run_dir = Path(mkdtemp(prefix="bench-pipeline-"))
    if args.only != "latency":
        rate = pipeline_throughput(
            run_dir / "throughput", latency_ms=args.latency_ms, declines=args.declines, webhooks=args.webhooks
        )
        print(f"throughput: {rate:,.0f} declines/s ({args.declines}, sandbox {args.latency_ms:g} ms)")
    if args.only != "throughput":
        lat = pipeline_latency(run_dir / "latency", rate=args.rate, seconds=args.seconds)
        print(
            f"latency at {args.rate:g}/s: p50 {lat.p50:.1f} ms, p99 {lat.p99:.1f} ms; "
            f"first {FIRST_WINDOW_S:g} s: p50 {lat.first_p50:.1f} ms, p99 {lat.first_p99:.1f} ms"
        )


if __name__ == "__main__":
    main()
