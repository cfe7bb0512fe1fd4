"""`Sandbox`: one simulator instance without its HTTP server (the in-process surface).

It owns the payment service (and so the store and the PENDING timers), the webhook dispatcher,
the fault injector and the request statistics. `SandboxServer` serves it over HTTP; tests reach
it directly through `SandboxServer.sandbox` (or `.store`) for counting and waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

from streams.sandbox.config import SandboxConfig
from streams.sandbox.faults import FaultInjector
from streams.sandbox.service import PaymentService
from streams.sandbox.store import PaymentStore
from streams.sandbox.webhooks import WebhookDispatcher

__all__ = ["RequestStats", "Sandbox"]


class RequestStats:
    """Answers per endpoint (`POST /v1/payments/{paymentId}/capture`) and status (or `dropped`)."""

    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}

    def count(self, endpoint: str, status: str) -> None:
        counter = self._counts.get(endpoint)
        if counter is None:
            counter = self._counts[endpoint] = Counter()
        counter[status] += 1

    def get(self, endpoint: str, status: str) -> int:
        counter = self._counts.get(endpoint)
        return 0 if counter is None else counter[status]

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {endpoint: dict(counter) for endpoint, counter in sorted(self._counts.items())}

    def clear(self) -> None:
        self._counts.clear()


class Sandbox:
    """The simulator's state and machinery; start and close it on the serving event loop."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.webhooks = WebhookDispatcher(config)
        self.service = PaymentService(config, self.webhooks)
        self.faults = FaultInjector(config)
        self.requests = RequestStats()
        self.closing = asyncio.Event()

    @property
    def store(self) -> PaymentStore:
        return self.service.store

    async def start(self) -> None:
        self.closing.clear()
        await self.webhooks.start()

    async def close(self) -> None:
        """Stop the PENDING timers and the deliveries; release the stalled (timeout-fault) requests."""
        self.closing.set()
        self.service.scheduler.cancel_all()
        await self.webhooks.close()

    async def stall(self, ms: float) -> None:
        """Sleep `ms`, or less if the sandbox closes meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closing.wait(), ms / 1000)

    async def reset(self) -> None:
        """Forget every payment, timer, delivery, scripted fault and counter (settings are kept)."""
        self.service.reset()
        await self.webhooks.reset()
        self.faults.reset()
        self.requests.clear()

    def payments(
        self, merchant_reference: str | None = None, status: str | None = None, limit: int | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """(how many match, the PaymentResponses of the first `limit`), filtered by merchantReference
        and/or status, oldest first."""
        if merchant_reference is not None:
            found = self.store.by_reference(merchant_reference)
            candidates = [] if found is None else [found]
        else:
            candidates = list(self.store)
        matching = [p for p in candidates if status is None or p.status == status]
        shown = matching if limit is None else matching[:limit]
        return len(matching), [self.service.render(p) for p in shown]

    def stats(self) -> dict[str, Any]:
        return {
            "payments": len(self.store),
            "paymentsByStatus": self.store.counts_by_status(),
            "pendingTimers": len(self.service.scheduler),
            "requests": self.requests.as_dict(),
            "faultsInjected": dict(self.faults.injected),
            "webhooks": self.webhooks.stats.as_dict(),
        }
