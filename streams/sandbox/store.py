"""In-memory payments: by paymentId, by merchantReference, and waiters for a status change.

Everything runs on one event loop and every mutation is synchronous, so no locks are needed.
`create_requests(ref)` counts every accepted create POST carrying that merchantReference,
including those answered with the existing payment, so a test can see how many times a client
re-drove a create. Nothing here holds card numbers or CVVs (a `Payment` has only a CardResponse).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator

from streams.sandbox.model import Payment, Status

__all__ = ["PaymentStore"]


class PaymentStore:
    """The payments of one sandbox run."""

    def __init__(self) -> None:
        self._payments: dict[str, Payment] = {}
        self._by_reference: dict[str, str] = {}
        self._create_requests: Counter[str] = Counter()
        self._waiters: dict[str, list[tuple[Callable[[Payment], bool], asyncio.Future[Payment]]]] = {}

    def __len__(self) -> int:
        return len(self._payments)

    def __iter__(self) -> Iterator[Payment]:
        return iter(list(self._payments.values()))

    def get(self, payment_id: str) -> Payment | None:
        return self._payments.get(payment_id)

    def by_reference(self, merchant_reference: str) -> Payment | None:
        payment_id = self._by_reference.get(merchant_reference)
        return None if payment_id is None else self._payments[payment_id]

    def count_create(self, merchant_reference: str) -> None:
        self._create_requests[merchant_reference] += 1

    def create_requests(self, merchant_reference: str) -> int:
        return self._create_requests[merchant_reference]

    def add(self, payment: Payment) -> None:
        self._payments[payment.payment_id] = payment
        self._by_reference[payment.merchant_reference] = payment.payment_id
        self.changed(payment)

    def changed(self, payment: Payment) -> None:
        """Wake the waiters of `payment` whose predicate now holds."""
        waiters = self._waiters.get(payment.payment_id)
        if not waiters:
            return
        keep = []
        for predicate, future in waiters:
            if future.done():
                continue
            if predicate(payment):
                future.set_result(payment)
            else:
                keep.append((predicate, future))
        if keep:
            self._waiters[payment.payment_id] = keep
        else:
            del self._waiters[payment.payment_id]

    async def wait_for(
        self, payment_id: str, predicate: Callable[[Payment], bool], timeout_s: float = 10.0
    ) -> Payment:
        """Return the payment once `predicate` holds; TimeoutError after `timeout_s` seconds."""
        payment = self._payments.get(payment_id)
        if payment is not None and predicate(payment):
            return payment
        future: asyncio.Future[Payment] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(payment_id, []).append((predicate, future))
        try:
            return await asyncio.wait_for(future, timeout_s)
        finally:
            future.cancel()

    async def wait_for_status(
        self, payment_id: str, status: Status | str, timeout_s: float = 10.0
    ) -> Payment:
        return await self.wait_for(payment_id, lambda p: p.status == status, timeout_s)

    def counts_by_status(self) -> dict[str, int]:
        return dict(Counter(str(p.status) for p in self._payments.values()))

    def clear(self) -> None:
        self._payments.clear()
        self._by_reference.clear()
        self._create_requests.clear()
        for waiters in self._waiters.values():
            for _, future in waiters:
                future.cancel()
        self._waiters.clear()
