"""The whole service as real processes, outside pytest: for `make bench` and `make chaos`.

`System` starts (or reuses) a Kafka-protocol broker, creates the service's topics under a fresh
prefix, runs the Paymend sandbox as a subprocess with webhooks pointed at the worker, and runs
worker processes (`python -m streams worker`) that it can stop, kill -9 and restart. It also gives
the merchant's side (a murmur2 confluent-kafka producer), readers of the output topics, and the
sandbox's own view of what Paymend holds. Everything it started is stopped when the block ends.

    with System(run_dir, sandbox_env={"SANDBOX_LATENCY_MS": "fixed:50"}) as system:
        system.start_worker()
        system.produce_declines(ids)
        statuses = system.read_statuses(expected=len(ids), timeout=60)

The pytest fixtures (`tests/fixtures/`) build the same parts for the test suite; this module is
the same thing as a plain context manager, so scripts can time it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from confluent_kafka import Consumer, Producer

from schemas.status import PaymentStatusChanged
from streams.broker.client_config import confluent_config
from streams.broker.embedded import EmbeddedBroker, free_port
from streams.broker.topics import ensure_topics, service_topics
from streams.processes import spawn, terminate
from streams.settings import Secret, Settings, setting_fields

__all__ = ["SANDBOX_TOKEN", "System", "Worker", "settings_env"]

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_TOKEN = "harness-sandbox-token"
ByPayment = dict[str, list[PaymentStatusChanged]]
_SETTING_VARIABLES = frozenset(env for _, env, _, _ in setting_fields())


def settings_env(settings: Settings) -> dict[str, str]:
    """`ENV -> text` for every setting that is not None (secrets revealed: for child processes)."""
    env: dict[str, str] = {}
    for name, variable, _, _ in setting_fields():
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, Secret):
            env[variable] = value.reveal()
        elif isinstance(value, bool):
            env[variable] = "true" if value else "false"
        else:
            env[variable] = str(value)
    return env


@dataclass
class Worker:
    """One `python -m streams worker` process."""

    settings: Settings
    proc: subprocess.Popen[bytes]
    log: Path
    started_at: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.worker_web_port}"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Until GET /ready answers 200; returns the seconds since the process was started."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if not self.alive:
                    raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(self.url + "/ready").status_code == 200:
                        return time.monotonic() - self.started_at
                time.sleep(0.05)  # polling, bounded by the deadline
        raise RuntimeError(f"worker not ready within {timeout:g} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, grace: float = 10.0) -> None:
        terminate(self.proc, grace, name="worker")

    def rss_peak_kb(self) -> int:
        """The process's peak resident set (VmHWM), in KiB; 0 once it has exited."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0


@dataclass
class System:
    """Broker + topics + sandbox + workers, all stopped on exit. See the module docstring."""

    run_dir: Path
    sandbox_env: Mapping[str, str] = field(default_factory=dict)
    settings_overrides: Mapping[str, Any] = field(default_factory=dict)
    partitions: int = 8
    bootstrap: str | None = None  # an existing broker; None starts an embedded one
    settings: Settings = field(init=False)
    sandbox_url: str = field(init=False, default="")
    broker_pid: int | None = field(init=False, default=None)  # set when the broker is ours
    workers: list[Worker] = field(init=False, default_factory=list)
    _stack: contextlib.ExitStack = field(init=False, default_factory=contextlib.ExitStack)
    _sandbox: subprocess.Popen[bytes] | None = field(init=False, default=None)
    _producer: Producer | None = field(init=False, default=None)

    # --- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()

    def _start(self) -> None:
        bootstrap = self.bootstrap
        if bootstrap is None:
            broker = self._stack.enter_context(EmbeddedBroker(log_file=self.run_dir / "broker.log"))
            bootstrap = broker.bootstrap
            self.broker_pid = broker.pid
        prefix = f"h{uuid.uuid4().hex[:8]}"
        names = {
            f.name: f"{prefix}.{f.default}"
            for f in dataclasses.fields(Settings)
            if f.name.startswith("topic_") and isinstance(f.default, str)
        }
        worker_port = free_port()
        base = Settings(kafka_bootstrap=bootstrap, kafka_embedded=self.bootstrap is None)
        self.settings = dataclasses.replace(
            base,
            **names,
            topic_partitions=self.partitions,
            topic_replication_factor=1,
            app_id=f"{prefix}-worker",
            worker_web_host="127.0.0.1",
            worker_web_port=worker_port,
            worker_data_dir=str(self.run_dir / "worker-data"),
            paymend_api_token=Secret(SANDBOX_TOKEN),
            log_level="WARNING",
            **self.settings_overrides,
        )
        ensure_topics(confluent_config(self.settings), service_topics(self.settings))
        self._start_sandbox(f"http://127.0.0.1:{worker_port}{self.settings.webhook_path}")
        self.settings = dataclasses.replace(self.settings, paymend_base_url=self.sandbox_url)
        self._stack.callback(self._close_clients)
        self._stack.callback(self._stop_workers)

    def _start_sandbox(self, webhook_url: str) -> None:
        port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        env.update(SANDBOX_PORT=str(port), SANDBOX_TOKEN=SANDBOX_TOKEN, SANDBOX_WEBHOOK_URL=webhook_url)
        env.update(self.sandbox_env)
        proc = spawn([sys.executable, "-m", "streams", "sandbox"], self.run_dir / "sandbox.log", env=env)
        self._sandbox = proc
        self._stack.callback(terminate, proc, 5.0, name="sandbox")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"sandbox exited: {(self.run_dir / 'sandbox.log').read_text()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(f"{self.sandbox_url}/_sandbox/health", timeout=1.0)
                return
            time.sleep(0.05)  # polling for the port, bounded by the deadline
        raise RuntimeError("sandbox did not start")

    # --- workers -------------------------------------------------------------------------------
    def start_worker(self, *, wait: bool = True, timeout: float = 90.0, **overrides: Any) -> Worker:
        settings = dataclasses.replace(self.settings, **overrides) if overrides else self.settings
        inherited = {k: v for k, v in os.environ.items() if k not in _SETTING_VARIABLES}
        log = self.run_dir / f"worker-{len(self.workers)}.log"
        started = time.monotonic()
        proc = spawn(
            [sys.executable, "-m", "streams", "worker"],
            log,
            env={**inherited, "PYTHONPATH": str(ROOT), **settings_env(settings)},
        )
        worker = Worker(settings, proc, log, started)
        self.workers.append(worker)
        if wait:
            worker.wait_ready(timeout)
        return worker

    @property
    def worker(self) -> Worker:
        """The most recently started worker."""
        return self.workers[-1]

    def _stop_workers(self) -> None:
        for worker in reversed(self.workers):
            worker.stop(grace=5.0)

    # --- the merchant's side -------------------------------------------------------------------
    @property
    def producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                {**confluent_config(self.settings, producer=True), "linger.ms": 5, "acks": "all"}
            )
        return self._producer

    def produce(self, topic: str, records: Iterable[tuple[bytes, bytes]], *, flush: bool = True) -> int:
        """Send `(key, value)` records to `topic`; returns how many. Waits for delivery if `flush`."""
        count = 0
        producer = self.producer
        for key, value in records:
            while True:
                try:
                    producer.produce(topic, key=key, value=value)
                    break
                except BufferError:
                    producer.poll(0.05)  # local queue full: let deliveries drain
            producer.poll(0)
            count += 1
        if flush and producer.flush(60) != 0:
            raise RuntimeError(f"{len(producer)} records to {topic} were not delivered")
        return count

    # --- what comes out ------------------------------------------------------------------------
    def fast_producer(self) -> Producer:
        """A producer that sends each record at once (no linger): for latency measurements."""
        return Producer({**confluent_config(self.settings, producer=True), "linger.ms": 0, "acks": "all"})

    def status_reader(self, *, fetch_wait_ms: int = 100) -> Consumer:
        """A consumer of the status topic from its start; `fetch_wait_ms` bounds its fetch wait."""
        return self.consumer(self.settings.topic_status, fetch_wait_ms=fetch_wait_ms)

    def consumer(
        self, topics: str | list[str], *, group: str | None = None, fetch_wait_ms: int = 100
    ) -> Consumer:
        consumer = Consumer(
            {
                **confluent_config(self.settings),
                "group.id": group or f"harness-reader-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "session.timeout.ms": 6000,
                "fetch.wait.max.ms": fetch_wait_ms,
            }
        )
        consumer.subscribe([topics] if isinstance(topics, str) else topics)
        return consumer

    def read(
        self, topics: str | list[str], *, until: Callable[[int], bool], timeout: float
    ) -> list[tuple[str, bytes | None, bytes]]:
        """`(topic, key, value)` records read until `until(count)` is true or `timeout` passes."""
        out: list[tuple[str, bytes | None, bytes]] = []
        consumer = self.consumer(topics)
        deadline = time.monotonic() + timeout
        try:
            while not until(len(out)) and time.monotonic() < deadline:
                for msg in consumer.consume(1000, 0.2):
                    if not msg.error():
                        out.append((msg.topic(), msg.key(), msg.value()))
        finally:
            consumer.close()
        return out

    def statuses(self, *, until: Callable[[ByPayment], bool], timeout: float) -> ByPayment:
        """Status events per payment ID, in topic order, read until `until(by_payment)` or `timeout`."""
        by_payment: ByPayment = {}
        consumer = self.consumer(self.settings.topic_status)
        deadline = time.monotonic() + timeout
        try:
            while not until(by_payment) and time.monotonic() < deadline:
                for msg in consumer.consume(1000, 0.2):
                    if not msg.error():
                        event = PaymentStatusChanged.decode(msg.value())
                        by_payment.setdefault(event.payment_id, []).append(event)
        finally:
            consumer.close()
        return by_payment

    # --- what Paymend holds --------------------------------------------------------------------
    def sandbox_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx.get(f"{self.sandbox_url}/_sandbox/stats", timeout=10).json()
        return stats

    def sandbox_payments(self, limit: int = 10_000_000) -> list[dict[str, Any]]:
        """Every payment the sandbox holds (up to `limit`), as Paymend would answer a GET."""
        response = httpx.get(f"{self.sandbox_url}/_sandbox/payments", params={"limit": limit}, timeout=120)
        response.raise_for_status()
        payments: list[dict[str, Any]] = response.json()["payments"]
        return payments

    @property
    def sandbox_pid(self) -> int:
        assert self._sandbox is not None
        return self._sandbox.pid

    def _close_clients(self) -> None:
        if self._producer is not None:
            self._producer.flush(10)


def each(ids: Iterable[str], encode: Callable[[str], bytes]) -> Iterator[tuple[bytes, bytes]]:
    """`(id as key, encode(id))` for each id: the shape `System.produce` takes."""
    for payment_id in ids:
        yield payment_id.encode(), encode(payment_id)
