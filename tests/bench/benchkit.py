"""What the benchmark scripts in tests/bench share (a helper module, not a test).

- `server(argv)`: start `python *argv` in a subprocess and yield the URL it prints on its first stdout
  line; `SANDBOX` is the sandbox's argv (0 ms latency; no faults or webhooks, because inherited
  `SANDBOX_*` variables are dropped), its token passed as `SANDBOX_TOKEN` in the environment.
- `body(reference)`: the create-payment body every benchmark sends (approving test card, no CVV).
- `Target`: one HTTP client under test, as `create(reference) -> paymentId | None` and
  `get(paymentId) -> ok`; `AiohttpTarget` is raw aiohttp.
- `one_run(url, target, ...)`: reset the sandbox, then `concurrency` workers loop create-then-get
  on fresh merchantReferences for `seconds`; returns a `Run` (requests, errors, latencies, and the
  CPU time this process spent, i.e. the client's cost per request).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bench-token"
SANDBOX = ["-m", "streams", "sandbox", "--port", "0", "--latency-ms", "fixed:0"]
CARD = {"number": "4444444444440000", "holderName": "Bench", "expiryMonth": "12", "expiryYear": "2099"}
STORE = "store_bench"


def body(reference: str) -> bytes:
    return orjson.dumps(
        {
            "amount": 4999,
            "currency": "EUR",
            "merchantReference": reference,
            "goodsType": "DIGITAL",
            "source": {"storeId": STORE, "initiatedBy": "MERCHANT"},
            "paymentMethod": {"type": "CARD", "card": CARD},
        }
    )


@contextlib.asynccontextmanager
async def server(name: str, argv: Sequence[str]) -> AsyncIterator[str]:
    """Run `python *argv` (cwd: the repository) until the block ends; yield its first stdout line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    env.update({"PYTHONPATH": str(ROOT), "SANDBOX_TOKEN": TOKEN})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"{name} did not start")
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


class Target(Protocol):
    """One client under test. Errors are answers (None / False), not exceptions, where it can tell."""

    async def create(self, reference: str) -> str | None: ...

    async def get(self, payment_id: str) -> bool: ...


class AiohttpTarget:
    """Raw aiohttp: one ClientSession, a pool of `concurrency` connections, bytes in and out."""

    label = "aiohttp ClientSession"

    def __init__(self, url: str, concurrency: int) -> None:
        self._url = url
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))
        self._headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    async def create(self, reference: str) -> str | None:
        url = f"{self._url}/v1/payments"
        async with self._session.post(url, data=body(reference), headers=self._headers) as response:
            payment = orjson.loads(await response.read())
            return payment.get("paymentId") if response.status == 200 else None

    async def get(self, payment_id: str) -> bool:
        async with self._session.get(
            f"{self._url}/v1/payments/{payment_id}", headers=self._headers
        ) as response:
            await response.read()
            return response.status == 200

    async def aclose(self) -> None:
        await self._session.close()


@dataclass
class Run:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of this (the client's) process

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        """Client CPU per request: steadier than the rate when other processes share the cores."""
        return self.cpu_seconds / self.requests * 1e6


def percentiles(latencies: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    if len(latencies) < 2:
        only = latencies[0] * 1000 if latencies else float("nan")
        return only, only
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


async def reset(url: str) -> None:
    async with aiohttp.ClientSession() as session, session.post(f"{url}/_sandbox/reset") as response:
        response.raise_for_status()


async def worker(target: Target, name: str, stop_at: float, run: Run) -> None:
    loop = asyncio.get_running_loop()
    n = 0
    while loop.time() < stop_at:
        n += 1
        start = loop.time()
        payment_id = await target.create(f"{name}-{n}")
        middle = loop.time()
        ok = await target.get(payment_id or "pay_missing")
        end = loop.time()
        run.requests += 2
        run.errors += (payment_id is None) + (not ok)
        run.latencies += [middle - start, end - middle]


async def one_run(url: str, target: Target, *, index: int, seconds: float, concurrency: int) -> Run:
    """One measured run: reset the sandbox, then `concurrency` workers for `seconds`."""
    await reset(url)
    run = Run()
    loop = asyncio.get_running_loop()
    begin, cpu = loop.time(), time.process_time()
    workers = (worker(target, f"r{index}w{w}", begin + seconds, run) for w in range(concurrency))
    await asyncio.gather(*workers)
    run.seconds, run.cpu_seconds = loop.time() - begin, time.process_time() - cpu
    return run


def run_row(index: Any, run: Run) -> str:
    p50, p99 = percentiles(run.latencies)
    return f"{index:>4} {run.requests:>9} {run.errors:>7} {run.rate:>9.0f} {p50:>7.2f} {p99:>7.2f}"


RUN_HEADER = f"{'run':>4} {'requests':>9} {'errors':>7} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7}"
