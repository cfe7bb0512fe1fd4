"""Webhook delivery: one POST per status change, redelivered with backoff, optionally chaotic.

The envelope is `{"eventId", "eventType", "payment"}` with `payment` the full PaymentResponse at
the time of the change (Paymend documents only `eventId`: paymend-api.md §4.17). Event types:
PAYMENT_CREATED (for PENDING), PAYMENT_AUTHORIZED, _CAPTURED, _VOIDED, _REFUNDED, _FAILED.

An attempt fails on a non-2xx status, a connection error, or no complete reply within
`webhook_ack_timeout_ms` (docs: acknowledge in under 500 ms); a slow receiver may thus get the
event again. Attempts per event are bounded (`webhook_max_attempts`); delay before attempt n+1 is
`min(max, base * 2**(n-1))`, scaled by a seeded jitter in [0.5, 1). Chaos flags: duplicate an
event (delivered once more after its acknowledgement, same eventId) and reorder (hold an event
back for `webhook_reorder_hold_ms` so later events overtake it).

Authentication, none of it documented by Paymend: `webhook_token` is appended as a query
parameter; `webhook_hmac_secret` adds `Paymend-Signature: t=<unix seconds>,v1=<hex>` where hex is
HMAC-SHA256(secret, f"{t}." + raw body) (Stripe's scheme; a fresh `t` per attempt).

Each delivery is a task; at most `webhook_concurrency` POSTs are in flight, and backoff sleeps
hold no slot. `emit` is synchronous and cheap, so request handling never waits on a receiver.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import time
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
import orjson
from yarl import URL

from streams.sandbox.config import SandboxConfig
from streams.sandbox.model import new_id

__all__ = ["WebhookDispatcher", "WebhookStats", "backoff_ms", "signature_header", "verify_signature"]

log = logging.getLogger(__name__)


def backoff_ms(attempt: int, base_ms: float, max_ms: float, jitter: float) -> float:
    """Delay after failed attempt `attempt` (1-based); `jitter` in [0, 1) scales it into [0.5, 1)."""
    return float(min(max_ms, base_ms * 2 ** (attempt - 1)) * (0.5 + jitter / 2))


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, header: str, body: bytes, *, now: float, tolerance_s: float = 300) -> bool:
    """Check a `t=..,v1=..` header against the raw body (for receivers and tests)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = signature_header(secret, timestamp, body).partition(",v1=")[2]
    return abs(now - timestamp) <= tolerance_s and hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(slots=True)
class WebhookStats:
    emitted: int = 0  # events produced (status changes)
    delivered: int = 0  # events acknowledged at least once
    failed: int = 0  # events given up after the last attempt
    attempts: int = 0  # POSTs started
    redeliveries: int = 0  # POSTs after a failed attempt
    duplicated: int = 0  # events deliberately delivered once more
    reordered: int = 0  # events deliberately held back
    pending: int = 0  # deliveries not finished

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class WebhookDispatcher:
    """Delivers events to `config.webhook_url` (disabled when it is empty)."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self.enabled = bool(config.webhook_url)
        url = URL(config.webhook_url) if self.enabled else URL()
        if config.webhook_token:
            url = url.extend_query({config.webhook_token_param: config.webhook_token})
        self._url = url
        self._rng = random.Random(f"{config.seed}:webhooks")
        self._slots = asyncio.Semaphore(config.webhook_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self.stats = WebhookStats()

    async def start(self) -> None:
        if self.enabled and self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._config.webhook_concurrency),
                timeout=aiohttp.ClientTimeout(total=self._config.webhook_ack_timeout_ms / 1000),
            )

    async def close(self) -> None:
        """Cancel every delivery still under way and close the HTTP session."""
        await self.cancel_all()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def reset(self) -> None:
        """Cancel every delivery and zero the counters (the session stays open)."""
        await self.cancel_all()
        self.stats = WebhookStats()

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every delivery (retries, duplicates, held-back events) has finished."""
        async with asyncio.timeout(timeout_s):
            while self._tasks:
                await asyncio.wait(list(self._tasks))

    def emit(self, event_type: str, payment: dict[str, Any]) -> None:
        """Queue one event; returns at once."""
        if not self.enabled:
            return
        body = orjson.dumps({"eventId": new_id("evt_", 22), "eventType": event_type, "payment": payment})
        self.stats.emitted += 1
        cfg = self._config
        hold_ms = 0.0
        if cfg.webhook_reorder_rate and self._rng.random() < cfg.webhook_reorder_rate:
            hold_ms = cfg.webhook_reorder_hold_ms
            self.stats.reordered += 1
        duplicate = bool(cfg.webhook_duplicate_rate) and self._rng.random() < cfg.webhook_duplicate_rate
        self._spawn(self._deliver(body, event_type, hold_ms, duplicate))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        self.stats.pending = len(self._tasks)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.stats.pending = len(self._tasks)

    async def _deliver(self, body: bytes, event_type: str, hold_ms: float, duplicate: bool) -> None:
        if hold_ms:
            await asyncio.sleep(hold_ms / 1000)
        if not await self._attempts(body, event_type):
            self.stats.failed += 1
            log.warning(
                "webhook %s given up after %d attempts", event_type, self._config.webhook_max_attempts
            )
            return
        self.stats.delivered += 1
        if duplicate:
            self.stats.duplicated += 1
            await self._attempts(body, event_type)

    async def _attempts(self, body: bytes, event_type: str) -> bool:
        cfg = self._config
        for attempt in range(1, cfg.webhook_max_attempts + 1):
            if attempt > 1:
                self.stats.redeliveries += 1
            if await self._post(body, event_type):
                return True
            if attempt < cfg.webhook_max_attempts:
                delay = backoff_ms(
                    attempt, cfg.webhook_backoff_base_ms, cfg.webhook_backoff_max_ms, self._rng.random()
                )
                await asyncio.sleep(delay / 1000)
        return False

    async def _post(self, body: bytes, event_type: str) -> bool:
        assert self._session is not None, "WebhookDispatcher.start() was not awaited"
        headers = {"Content-Type": "application/json"}
        if self._config.webhook_hmac_secret:
            headers[self._config.webhook_signature_header] = signature_header(
                self._config.webhook_hmac_secret, int(time.time()), body
            )
        async with self._slots:
            self.stats.attempts += 1
            try:
                async with self._session.post(self._url, data=body, headers=headers) as response:
                    await response.read()
                    ok = 200 <= response.status < 300
                    if not ok:
                        log.debug("webhook %s answered %d", event_type, response.status)
                    return ok
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.debug("webhook %s attempt failed: %s", event_type, type(exc).__name__)
                return False
