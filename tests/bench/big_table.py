"""One worker with 1 000 000 payments in its RocksDB table: peak RSS and restart-to-ready time.

`big_table(run_dir, payments=N, restarts=R)` runs, in one system (embedded broker, sandbox, one
worker at a time, `RECONCILE_INTERVAL_S` shortened to 10 s so that full-table scans happen
during it):

1. seed: N realistic rows (`seed.settled_mix`: 5 % PENDING, the rest settled days ago) written
   straight to the table's changelog;
2. first start: the worker recovers all N rows from the changelog into RocksDB (`recovery_s`:
   process start to GET /ready 200); then pipeline traffic (2 000 declines at once, each through
   to its PENDING status), then two scan intervals with no traffic, in which at least one scan
   of the whole table runs (checked: the pending gauge on /metrics then counts every PENDING
   payment); then a clean stop (SIGTERM), the RocksDB data directory kept;
3. R restarts, each: start, time to /ready 200 (`restart_s`: RocksDB opened, the changelog read
   from the offsets RocksDB holds, consumer group joined), the same traffic and scans, clean stop.

After ready, a thread polls /live every 50 ms and records the slowest answer, separately during
the traffic and during the scans: a scan that held the event loop would show there. Peak RSS is
the process's VmHWM, read just before each stop; `rss_mb` has one value per worker process (first
start, then each restart). A failed start is recorded in `errors` and the next one is tried (a
failed first start ends it).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.bench.seed import create_changelog, settled_mix, write_rows
from tests.fixtures.pipeline import PENDING_APPROVE, decline_event
from tests.harness.system import System, Worker

__all__ = ["BigTable", "big_table"]

_TRAFFIC = 2000
_STAYS_PENDING_MS = "fixed:3600000"


@dataclass
class BigTable:
    payments: int
    seed_s: float = 0.0
    recovery_s: float = 0.0
    restart_s: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)  # first start, then each restart
    live_traffic_ms: list[float] = field(default_factory=list)  # slowest /live during the traffic
    live_scan_ms: list[float] = field(default_factory=list)  # ... during two scan intervals after it
    errors: list[str] = field(default_factory=list)


class _LiveProbe:
    """Polls GET /live every 50 ms in a thread; `take()` is the slowest answer since the last one."""

    def __init__(self, url: str) -> None:
        self._url = url + "/live"
        self._stop = threading.Event()
        self._worst_ms = 0.0
        self._thread = threading.Thread(target=self._run, name="live-probe", daemon=True)

    def __enter__(self) -> _LiveProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)

    def take(self) -> float:
        worst, self._worst_ms = self._worst_ms, 0.0
        return worst

    def _run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while not self._stop.wait(0.05):
                started = time.perf_counter()
                with contextlib.suppress(httpx.HTTPError):
                    client.get(self._url)
                self._worst_ms = max(self._worst_ms, (time.perf_counter() - started) * 1000)


def _pending_gauge(worker: Worker) -> float:
    with contextlib.suppress(httpx.HTTPError):
        for line in httpx.get(worker.url + "/metrics", timeout=10).text.splitlines():
            if line.startswith("paymend_streams_payments_pending "):
                return float(line.split()[1])
    return 0.0


def _traffic(system: System, timeout: float) -> None:
    """`_TRAFFIC` declines at once, until each has its PENDING status."""
    ids = [f"big-{uuid.uuid4().hex[:16]}" for _ in range(_TRAFFIC)]
    reader = system.status_reader(fetch_wait_ms=10)
    try:
        system.produce(
            system.settings.topic_declines,
            ((pid.encode(), decline_event(pid, PENDING_APPROVE).encode()) for pid in ids),
        )
        missing = {pid.encode() for pid in ids}
        deadline = time.monotonic() + timeout
        while missing and time.monotonic() < deadline:
            for msg in reader.consume(1000, 0.1):
                if not msg.error():
                    missing.discard(msg.key() or b"")
        if missing:
            raise RuntimeError(f"{len(missing)} of {_TRAFFIC} declines got no status in {timeout:g} s")
    finally:
        reader.close()


def big_table(
    run_dir: Path, *, payments: int, restarts: int, scan_interval_s: float = 10.0, timeout: float = 900.0
) -> BigTable:
    result = BigTable(payments)
    sandbox_env = {"SANDBOX_WEBHOOK_URL": "", "SANDBOX_PENDING_DELAY_MS": _STAYS_PENDING_MS}
    overrides = {"reconcile_interval_s": scan_interval_s}
    with System(run_dir, sandbox_env=sandbox_env, settings_overrides=overrides) as system:
        create_changelog(system.settings)
        started = time.monotonic()
        write_rows(system.settings, settled_mix(system.settings, payments))
        result.seed_s = time.monotonic() - started
        for attempt in range(restarts + 1):
            try:
                _one_start(system, result, attempt, scan_interval_s, timeout)
            except Exception as exc:
                result.errors.append(f"{'first start' if attempt == 0 else f'restart {attempt}'}: {exc}")
                if attempt == 0:
                    break  # nothing to restart from
    return result


def _one_start(
    system: System, result: BigTable, attempt: int, scan_interval_s: float, timeout: float
) -> None:
    """Start, time to ready, traffic, two scan intervals, peak RSS, clean stop (module docstring)."""
    worker = system.start_worker(wait=False)
    try:
        ready_s = worker.wait_ready(timeout)
        if attempt == 0:
            result.recovery_s = ready_s
        else:
            result.restart_s.append(ready_s)
        with _LiveProbe(worker.url) as probe:
            _traffic(system, timeout=120)
            result.live_traffic_ms.append(probe.take())
            time.sleep(2 * scan_interval_s)  # at least one whole scan falls in this window
            result.live_scan_ms.append(probe.take())
        # settled_mix: one PENDING payment in 20; the traffic's payments stay PENDING
        if _pending_gauge(worker) < result.payments // 20 + _TRAFFIC * (attempt + 1):
            result.errors.append(f"start {attempt}: no complete table scan within {2 * scan_interval_s:g} s")
        result.rss_mb.append(worker.rss_peak_kb() / 1024)
    finally:
        worker.stop(grace=60)
    if worker.proc.returncode != 0:
        raise RuntimeError(f"worker stopped with {worker.proc.returncode}:\n{worker.log_tail()}")
