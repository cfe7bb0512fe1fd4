"""PENDING payments: when and how they resolve, and the timers that resolve them.

A payment whose card outcome is one of the PENDING kinds answers PENDING at creation. It then
resolves on its own after a delay drawn from `pending_delay_ms`, to the approved status
(AUTHORIZED, or CAPTURED with captureNow) or FAILED with the card's failure. The recovery window
(`recovery_window_ms`, counted from creation) bounds it: a delay at or beyond the window, and the
"until expiry" card, end FAILED with `RECOVERY_WINDOW_EXPIRED` at the window's end (keeping the
card's provider code when it has one). A void cancels the timer.

Timers are `loop.call_later` handles, one per PENDING payment: no task per payment, nothing to
await at shutdown, and `cancel_all` leaves no callback behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from streams.sandbox.cards import RECOVERY_WINDOW_EXPIRED, Failure, Outcome, OutcomeKind

__all__ = ["PendingPlan", "PendingScheduler", "plan_pending", "starts_pending"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PendingPlan:
    """Resolve `after_ms` after creation: approved, or FAILED with `failure`."""

    after_ms: float
    approved: bool
    failure: Failure | None


def starts_pending(outcome: Outcome, *, initiated_by: object, requires_initiated_by: bool) -> bool:
    """Whether the create answers PENDING (see `pending_requires_initiated_by`, docs C8)."""
    return outcome.kind.pending and (initiated_by is not None or not requires_initiated_by)


def plan_pending(outcome: Outcome, *, delay_ms: float, window_ms: float) -> PendingPlan:
    """How a PENDING payment with this outcome resolves, given a sampled delay and the window."""
    if outcome.kind is OutcomeKind.PENDING_EXPIRE or delay_ms >= window_ms:
        provider = outcome.failure.provider_failure_code if outcome.failure else None
        return PendingPlan(window_ms, False, Failure(RECOVERY_WINDOW_EXPIRED.failure_code, provider))
    approved = outcome.kind is OutcomeKind.PENDING_APPROVE
    return PendingPlan(delay_ms, approved, None if approved else outcome.failure)


def immediate_plan(outcome: Outcome) -> PendingPlan:
    """The resolution of a PENDING-kind outcome when the payment may not be PENDING."""
    if outcome.kind is OutcomeKind.PENDING_EXPIRE:
        return PendingPlan(0.0, False, RECOVERY_WINDOW_EXPIRED)
    return PendingPlan(0.0, outcome.kind is OutcomeKind.PENDING_APPROVE, outcome.failure)


class PendingScheduler:
    """One timer per PENDING payment; calls `on_due(payment_id, plan)` when it fires."""

    def __init__(self, on_due: Callable[[str, PendingPlan], None]) -> None:
        self._on_due = on_due
        self._timers: dict[str, tuple[asyncio.TimerHandle, PendingPlan]] = {}

    def schedule(self, payment_id: str, plan: PendingPlan) -> None:
        loop = asyncio.get_running_loop()
        handle = loop.call_later(plan.after_ms / 1000, self._fire, payment_id, plan)
        self._timers[payment_id] = (handle, plan)

    def pop(self, payment_id: str) -> PendingPlan | None:
        """Cancel the timer of `payment_id` and return its plan (None when there is none)."""
        entry = self._timers.pop(payment_id, None)
        if entry is None:
            return None
        entry[0].cancel()
        return entry[1]

    def cancel(self, payment_id: str) -> None:
        self.pop(payment_id)

    def cancel_all(self) -> None:
        for handle, _ in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def __len__(self) -> int:
        return len(self._timers)

    def _fire(self, payment_id: str, plan: PendingPlan) -> None:
        self._timers.pop(payment_id, None)
        try:
            self._on_due(payment_id, plan)
        except Exception:  # a bug here must not kill the loop's callback machinery silently
            log.exception("resolving PENDING payment %s failed", payment_id)
