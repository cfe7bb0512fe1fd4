"""Webhooks acknowledged by one worker: requests/s and ack latency p50/p99 (one run per call).

What the webhooks refer to: payments the worker knows as PENDING. Before the worker starts,
`webhooks` PENDING payments are written to the table's changelog (`seed.pending_payment`), and the
worker recovers them; each gets one PAYMENT_AUTHORIZED webhook (a fresh eventId, Paymend's
payment ID of the row, the body the sandbox would send). So every acknowledged webhook is also a
real state change for the agent, which runs on the same event loop and publishes an AUTHORIZED
status event: the figure includes that competition, as in production. Unknown payments would
only cost the agent a conflict record, and duplicates less.

Authentication as in production: the URL token and an HMAC-SHA256 `Paymend-Signature` header
(`streams.sandbox.webhooks.signature_header`, the sandbox's own signer). Bodies and signatures
are built before the clock starts, so the client's work during the run is aiohttp's alone.

Load, after a warm-up of 300: first a paced phase, `paced_rate` webhooks/s offered for
`paced_seconds` on a clock (open loop: the ack latency of a worker that keeps up), and once the
agent has applied those, the saturating phase: `concurrency` connections (32: the sandbox's
default webhook concurrency, Paymend's parallelism as we model it), each POSTing the next body as
soon as its previous one was answered (closed loop), until all `webhooks` are sent. Throughput
counts 200 answers only; latency is from the POST to the answer read, for every request. After
the load, the time until the agent has published every AUTHORIZED status is recorded
(`applied_s`: the agent's backlog), and the worker's CPU time from the start of the load to that
point, per webhook (`cpu_us`: the endpoint's and the agent's work together, steadier than the
rate on a shared machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson

from schemas.status import PaymentStatusChanged
from streams.sandbox.webhooks import signature_header
from streams.settings import Secret
from tests.bench.benchkit import percentiles
from tests.bench.seed import create_changelog, paymend_id, pending_payment, write_rows
from tests.harness.system import System

__all__ = ["WebhookRun", "webhook_run"]

TOKEN = "bench-webhook-token"
HMAC_KEY = "bench-webhook-hmac-key"
_WARMUP = 300


@dataclass(frozen=True, slots=True)
class WebhookRun:
    rate: float  # 200 answers per second
    p50_ms: float
    p99_ms: float
    errors: int  # non-200 answers and failed requests, both phases
    applied_s: float | None  # from the end of the load until every status was published
    cpu_us: float  # the worker's CPU time per webhook, from the saturating load to the last status
    paced_p50_ms: float  # ack latency at a fixed offered rate, below saturation
    paced_p99_ms: float


def _body(payment_id: str, now: str) -> bytes:
    """A PAYMENT_AUTHORIZED webhook as the sandbox sends it (its PaymentResponse shape)."""
    return orjson.dumps(
        {
            "eventId": f"evt_{uuid.uuid4().hex[:22]}",
            "eventType": "PAYMENT_AUTHORIZED",
            "payment": {
                "paymentId": paymend_id(payment_id),
                "merchantReference": payment_id,
                "amount": 12997,
                "currency": "USD",
                "status": "AUTHORIZED",
                "paymentMethod": {
                    "type": "CARD",
                    "card": {
                        "bin": "40000000",
                        "holderName": "John Doe",
                        "cvvPresentDuringAttempt": False,
                        "expiryMonth": "12",
                        "expiryYear": "2031",
                        "brand": "VISA",
                    },
                },
                "captureNow": False,
                "goodsType": "PHYSICAL",
                "source": {"storeId": "store_abc123", "initiatedBy": "CONSUMER"},
                "transactions": [
                    {
                        "id": f"AUTH_{uuid.uuid4().hex[:12]}",
                        "type": "AUTHORIZATION",
                        "amount": 12997,
                        "result": "SUCCEEDED",
                        "createdAt": now,
                    }
                ],
                "createdAt": now,
                "updatedAt": now,
            },
        }
    )


def _signed(bodies: list[bytes]) -> list[tuple[bytes, dict[str, str]]]:
    timestamp = int(time.time())
    return [
        (
            body,
            {
                "Content-Type": "application/json",
                "Paymend-Signature": signature_header(HMAC_KEY, timestamp, body),
            },
        )
        for body in bodies
    ]


async def _load(
    url: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> tuple[float, list[float], int]:
    """POST every request, `concurrency` at a time; (seconds, latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    queue = iter(requests)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=10)

    async def connection(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for body, headers in queue:
            errors += not await _post_timed(session, url, body, headers, latencies)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        began = time.perf_counter()
        await asyncio.gather(*(connection(session) for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    return seconds, latencies, errors


async def _post_timed(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    latencies: list[float],
) -> bool:
    """POST one webhook, append its latency to `latencies`; True when it was answered 200."""
    started = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            ok = response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        ok = False
    latencies.append(time.perf_counter() - started)
    return ok


async def _paced(
    url: str, requests: list[tuple[bytes, dict[str, str]]], rate: float
) -> tuple[list[float], int]:
    """POST each request at its slot of a fixed-rate clock (open loop); (latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=10)

    async def one(session: aiohttp.ClientSession, body: bytes, headers: dict[str, str]) -> None:
        nonlocal errors
        errors += not await _post_timed(session, url, body, headers, latencies)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        began = loop.time()
        tasks = []
        for index, (body, headers) in enumerate(requests):
            delay = began + index / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the offered load
            tasks.append(asyncio.create_task(one(session, body, headers)))
        await asyncio.gather(*tasks)
    return latencies, errors


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def webhook_run(
    run_dir: Path,
    *,
    webhooks: int,
    concurrency: int = 32,
    paced_rate: float = 300.0,
    paced_seconds: float = 10.0,
    timeout: float = 300.0,
) -> WebhookRun:
    """One run: seed, start one worker, warm up, a paced phase, then the saturating load."""
    overrides = {"webhook_token": Secret(TOKEN), "webhook_hmac_secrets": Secret(HMAC_KEY)}
    paced = int(paced_rate * paced_seconds)
    with System(run_dir, sandbox_env={"SANDBOX_WEBHOOK_URL": ""}, settings_overrides=overrides) as system:
        settings = system.settings
        now = datetime.now(UTC)
        ids = [f"wh-{uuid.uuid4().hex[:22]}" for _ in range(_WARMUP + paced + webhooks)]
        create_changelog(settings)
        write_rows(settings, ((pid, pending_payment(settings, pid, i, now)) for i, pid in enumerate(ids)))
        worker = system.start_worker(timeout=timeout)
        url = f"{worker.url}{settings.webhook_path}?token={TOKEN}"
        stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        requests = _signed([_body(pid, stamp) for pid in ids])
        warmup, slow, fast = (
            requests[:_WARMUP],
            requests[_WARMUP : _WARMUP + paced],
            requests[_WARMUP + paced :],
        )
        asyncio.run(_load(url, warmup, concurrency))
        paced_latencies, paced_errors = asyncio.run(_paced(url, slow, paced_rate))
        if _wait_applied(system, _WARMUP + paced, timeout) is None:
            raise RuntimeError("the agent did not apply the paced webhooks")
        cpu = _cpu_seconds(worker.proc.pid)
        seconds, latencies, errors = asyncio.run(_load(url, fast, concurrency))
        loaded = time.monotonic()
        applied = _wait_applied(system, len(ids), timeout)
        cpu = _cpu_seconds(worker.proc.pid) - cpu
        p50, p99 = percentiles(latencies)
        paced_p50, paced_p99 = percentiles(paced_latencies)
        return WebhookRun(
            rate=(webhooks - errors) / seconds,
            p50_ms=p50,
            p99_ms=p99,
            errors=errors + paced_errors,
            applied_s=None if applied is None else applied - loaded,
            cpu_us=cpu / webhooks * 1e6,
            paced_p50_ms=paced_p50,
            paced_p99_ms=paced_p99,
        )


def _wait_applied(system: System, count: int, timeout: float) -> float | None:
    """The monotonic time when `count` payments had their AUTHORIZED status read; None at timeout."""
    consumer = system.status_reader(fetch_wait_ms=10)
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < count and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.05):
                if msg.error():
                    continue
                with contextlib.suppress(ValueError):
                    event = PaymentStatusChanged.decode(msg.value())
                    if event.new_status == "AUTHORIZED":
                        seen.add(event.payment_id)
    finally:
        consumer.close()
    return time.monotonic() if len(seen) >= count else None
