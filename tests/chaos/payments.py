"""A decline workload and its accounting: what Paymend holds and what the status topic says.

- `Workload.make(prefix, count, stop_every=k)`: `count` declines over the four test cards whose
  outcome is known (approved at once, PENDING then approved, PENDING then failed, failed at once);
  every k-th payment is also stopped (alternately OrderCancelled and PaymentSettledElsewhere):
  half of the stops right after the declines (most overtake their decline: the other topic's
  backlog is shorter), the other half as soon as the payment's first status is on the status
  topic (`send_stops`), so they race Paymend's background resolution and the webhooks.
- `StatusView`: the status topic read incrementally, per payment, in topic order.
- `settle(system, workload, view, result, timeout)`: wait until every payment is settled (below)
  or the deadline passes, then count into `result`:

  * lost: a decline that was not stopped and has no Paymend payment (by merchantReference);
  * duplicates: Paymend payments beyond the first for one merchantReference;
  * arrived: payments whose Paymend status is also their last status on the status topic, as a
    consumer that deduplicates on eventId sees it (`StatusView.last`);
  * violations: a Paymend status other than the card's outcome; a payment still live (PENDING,
    AUTHORIZED, CAPTURED) after a stop; a final status missing from the status topic; a status
    chain that goes backwards (after deduplication by event ID); the same status published under
    two event IDs; a Paymend payment for a reference we never sent.

  A stopped payment may have no Paymend payment at all (its stop was processed before its decline).
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer

from schemas.enums import PaymentStatus
from schemas.merchant import OrderCancelled, PaymentSettledElsewhere
from schemas.status import PaymentStatusChanged
from streams.pipeline.lifecycle import Ordering, compare
from tests.chaos.result import Result
from tests.fixtures.pipeline import APPROVE, DECLINE_51, PENDING_APPROVE, PENDING_FAIL_51, decline_event
from tests.harness.system import System

__all__ = [
    "OUTCOMES",
    "PIPELINE_SANDBOX_ENV",
    "PIPELINE_WORKER_SETTINGS",
    "StatusView",
    "Workload",
    "account",
    "check_status_chain",
    "run_workload",
    "settle",
    "timeout_for",
    "wait_progress",
]

P = PaymentStatus
#: Test card -> the status Paymend ends at (captureNow false).
OUTCOMES: dict[str, PaymentStatus] = {
    APPROVE: P.AUTHORIZED,
    PENDING_APPROVE: P.AUTHORIZED,
    PENDING_FAIL_51: P.FAILED,
    DECLINE_51: P.FAILED,
}
_LIVE = frozenset({P.PENDING, P.AUTHORIZED, P.CAPTURED})

#: Sandbox settings of the pipeline scenarios: PENDING payments resolve within half a second, and a
#: webhook that meets a dead or stalled worker is redelivered for about a minute.
PIPELINE_SANDBOX_ENV: dict[str, str] = {
    "SANDBOX_PENDING_DELAY_MS": "uniform:100,500",
    "SANDBOX_WEBHOOK_MAX_ATTEMPTS": "30",
    "SANDBOX_WEBHOOK_BACKOFF_BASE_MS": "200",
    "SANDBOX_WEBHOOK_BACKOFF_MAX_MS": "2000",
}
#: Worker settings of the pipeline scenarios: fast client retries, reconciliation as the safety net
#: for webhooks that never arrive.
PIPELINE_WORKER_SETTINGS: dict[str, Any] = {
    "paymend_retry_base_s": 0.05,
    "paymend_retry_max_s": 0.5,
    "reconcile_interval_s": 5.0,
    "reconcile_after_s": 30.0,
}


@dataclass
class Workload:
    """Payment ID -> test card, and the payments that are also stopped."""

    cards: dict[str, str]
    stopped: set[str] = field(default_factory=set)
    early: set[str] = field(default_factory=set)  # stops produced right after the declines
    _sent: set[str] = field(default_factory=set)  # payments whose stop was produced

    @classmethod
    def make(
        cls, prefix: str, count: int, *, stop_every: int = 0, cards: Iterable[str] = tuple(OUTCOMES)
    ) -> Workload:
        run = uuid.uuid4().hex[:6]
        rng = random.Random(run)  # which payments are stopped, and when, independent of their card
        deck = itertools.cycle(cards)
        ids = [f"{prefix}-{run}-{n:06d}" for n in range(count)]
        stopped = rng.sample(ids, count // stop_every) if stop_every else []
        return cls({p: next(deck) for p in ids}, set(stopped), early=set(stopped[0::2]))

    def __len__(self) -> int:
        return len(self.cards)

    def expected(self, payment_id: str) -> PaymentStatus | None:
        """The Paymend status the payment must end at; None when it is stopped (not live then)."""
        return None if payment_id in self.stopped else OUTCOMES[self.cards[payment_id]]

    def produce(self, system: System) -> None:
        """Every decline, then the early half of the stops."""
        system.produce(
            system.settings.topic_declines,
            ((p.encode(), decline_event(p, card).encode()) for p, card in self.cards.items()),
        )
        self._stop(system, sorted(self.early))

    def send_stops(self, system: System, view: StatusView) -> int:
        """The late stops of the payments that have a status by now; returns how many were sent."""
        due = [p for p in self.stopped - self._sent if p in view.by_payment]
        self._stop(system, due)
        return len(due)

    def stop_unsent(self, payment_id: str) -> bool:
        """True while the payment is to be stopped and its stop was not produced yet."""
        return payment_id in self.stopped and payment_id not in self._sent

    def _stop(self, system: System, payment_ids: list[str]) -> None:
        now = datetime.now(UTC)

        def cancel(p: str) -> bytes:
            return OrderCancelled(
                order_id=f"order-{p}", reason="chaos", occurred_at=now, payment_id=p
            ).encode()

        def settled(p: str) -> bytes:
            return PaymentSettledElsewhere(payment_id=p, method="PAYPAL", occurred_at=now).encode()

        s = system.settings
        system.produce(s.topic_order_cancelled, ((p.encode(), cancel(p)) for p in payment_ids[0::2]))
        system.produce(s.topic_settled_elsewhere, ((p.encode(), settled(p)) for p in payment_ids[1::2]))
        self._sent.update(payment_ids)


def timeout_for(declines: int) -> float:
    """How long a run of `declines` may take to settle (~170 declines/s today; slow runs must finish)."""
    return 120 + declines / 20


def run_workload(
    result: Result,
    run_dir: Path,
    workload: Workload,
    *,
    sandbox_env: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
    during: Callable[[System, StatusView], None] | None = None,
    after: Callable[[System, StatusView], None] | None = None,
) -> None:
    """Start a system (one worker), produce `workload`, run `during`, `settle`, run `after`."""
    with System(
        run_dir,
        sandbox_env={**PIPELINE_SANDBOX_ENV, **(sandbox_env or {})},
        settings_overrides={**PIPELINE_WORKER_SETTINGS, **(settings or {})},
    ) as system:
        system.start_worker()
        view = StatusView(system)
        try:
            workload.produce(system)
            if during is not None:
                during(system, view)
            settle(system, workload, view, result, timeout=timeout_for(len(workload)))
            result.check(system.worker.alive, f"the worker exited by itself:\n{system.worker.log_tail()}")
            if after is not None:
                after(system, view)
        finally:
            view.close()
    result.sent = len(workload)


def wait_progress(system: System, workload: Workload, view: StatusView, payments: int) -> bool:
    """Poll until `payments` payments have a status (sending due stops); False at the deadline or
    when the worker exits."""
    deadline = time.monotonic() + timeout_for(len(workload))
    while len(view.by_payment) < payments:
        if time.monotonic() > deadline or not system.worker.alive:
            return False
        view.poll()
        workload.send_stops(system, view)
    return True


class StatusView:
    """The status topic, read incrementally: `by_payment[payment ID]` in topic order.

    `StatusView(system)` reads the system's status topic; `StatusView()` reads nothing (for
    checking the accounting on events made up by hand).
    """

    def __init__(self, system: System | None = None) -> None:
        self._consumer: Consumer | None = system.consumer(system.settings.topic_status) if system else None
        self.by_payment: dict[str, list[PaymentStatusChanged]] = {}
        self.records = 0
        self.replays = 0  # events whose eventId came before (re-published after a crash, ...)
        self.stale_replays = 0  # of those, replays of an earlier status after a later one
        self._final: dict[str, PaymentStatusChanged] = {}  # the latest event with a new eventId
        self._seen: set[str] = set()

    def add(self, event: PaymentStatusChanged) -> None:
        self.by_payment.setdefault(event.payment_id, []).append(event)
        self.records += 1
        if event.event_id not in self._seen:
            self._seen.add(event.event_id)
            self._final[event.payment_id] = event
            return
        self.replays += 1
        if self._final[event.payment_id].event_id != event.event_id:
            self.stale_replays += 1

    def poll(self, budget_s: float = 0.5) -> int:
        """Read what is there (at most `budget_s` seconds); returns how many records came."""
        if self._consumer is None:
            return 0
        deadline = time.monotonic() + budget_s
        count = 0
        while time.monotonic() < deadline:
            batch = self._consumer.consume(1000, 0.1)
            for msg in batch:
                if not msg.error():
                    self.add(PaymentStatusChanged.decode(msg.value()))
                    count += 1
            if not batch:
                break
        return count

    def last(self, payment_id: str) -> PaymentStatus | None:
        """The payment's status as a consumer that deduplicates on eventId (the contract) sees it:
        that of its latest event with a new eventId. (A replay re-published after a crash may come
        after a later status; it carries its old eventId.)"""
        event = self._final.get(payment_id)
        return event.new_status if event is not None else None

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()


def by_reference(payments: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for payment in payments:
        out.setdefault(payment["merchantReference"], []).append(payment)
    return out


def _settled(
    workload: Workload, view: StatusView, payment_id: str, held: list[dict[str, Any]] | None
) -> bool:
    if workload.stop_unsent(payment_id):
        return False
    expected = workload.expected(payment_id)
    last = view.last(payment_id)
    if held is None:  # what the topic alone says
        return last == expected if expected is not None else last not in _LIVE
    if not held:
        return expected is None and last is None
    status = P(held[-1]["status"])
    return last == status and (status == expected if expected is not None else status not in _LIVE)


#: Settling gives up when nothing moved for this long: longer than reconciliation needs to find a
#: payment whose webhooks never came (`reconcile_after_s` + `reconcile_interval_s`), and than the
#: sandbox's webhook redelivery.
QUIET_S = 90.0


def settle(system: System, workload: Workload, view: StatusView, result: Result, *, timeout: float) -> None:
    """Wait until every payment is settled (module doc), or `timeout`, or nothing moved on the
    status topic for `QUIET_S` (what is not settled then never will be); then count into `result`."""
    deadline = time.monotonic() + timeout
    moved = time.monotonic()
    waiting = list(workload.cards)
    while time.monotonic() < deadline and time.monotonic() - moved < QUIET_S:
        if view.poll() or workload.send_stops(system, view):
            moved = time.monotonic()
        waiting = [p for p in waiting if not _settled(workload, view, p, None)]
        if waiting:
            continue
        held = by_reference(system.sandbox_payments())
        unsettled = [p for p in workload.cards if not _settled(workload, view, p, held.get(p, []))]
        if not unsettled:
            break
        waiting = unsettled
        view.poll(2.0)  # let the topic catch up before asking the sandbox again
    held = by_reference(system.sandbox_payments())
    account(workload, view, held, result)
    stats = system.sandbox_stats()
    creates = stats["requests"].get("POST /v1/payments", {}).get("200", 0)
    result.details["Paymend payments"] = stats["payments"]
    result.details["creates re-sent"] = creates - stats["payments"]


def account(
    workload: Workload, view: StatusView, held: Mapping[str, list[dict[str, Any]]], result: Result
) -> None:
    """Count into `result` (module doc): `held` is what Paymend holds, by merchantReference."""
    result.sent = len(workload)
    for payment_id in workload.cards:
        payments = held.get(payment_id, [])
        expected = workload.expected(payment_id)
        last = view.last(payment_id)
        if not payments:
            if expected is not None:
                result.lost += 1
                result.note_failure(f"{payment_id}: declined, no Paymend payment")
            elif last is not None:
                result.fail(f"{payment_id}: status {last} published, but Paymend holds no payment")
            continue
        if len(payments) > 1:
            result.duplicates += len(payments) - 1
            result.note_failure(f"{payment_id}: {len(payments)} Paymend payments")
        status = P(payments[-1]["status"])
        if expected is not None and status != expected:
            result.fail(f"{payment_id}: Paymend says {status}, the card gives {expected}")
        if expected is None and status in _LIVE:
            result.fail(f"{payment_id}: {status} at Paymend after a stop")
        if last == status:
            result.arrived += 1
        else:
            result.fail(f"{payment_id}: Paymend says {status}, the status topic's last is {last}")
        for problem in check_status_chain(view.by_payment.get(payment_id, [])):
            result.fail(f"{payment_id}: {problem}")
    for reference in held.keys() - workload.cards.keys():
        result.fail(f"Paymend holds a payment for {reference!r}, which was never declined")
    result.details["stopped"] = len(workload.stopped)
    result.details["stopped before Paymend"] = sum(1 for p in workload.stopped if not held.get(p))
    result.details["status events"] = view.records
    result.details["status replays (same eventId)"] = view.replays
    result.details["of which after a later status"] = view.stale_replays


def check_status_chain(events: list[PaymentStatusChanged]) -> Iterator[str]:
    """What is wrong with one payment's status events (topic order): after deduplication by event
    ID the statuses only move forward, and a status is never published under two event IDs."""
    ids: dict[str, str] = {}
    chain: list[PaymentStatus] = []
    for event in events:
        if event.event_id in ids:
            continue
        ids[event.event_id] = event.new_status
        chain.append(event.new_status)
    for status, count in Counter(ids.values()).items():
        if count > 1:
            yield f"{status} published under {count} event IDs"
    for before, after in itertools.pairwise(chain):
        if compare(before, after) in (Ordering.STALE, Ordering.CONFLICT):  # SAME: counted above
            yield f"status moved {before} -> {after} (chain {[str(s) for s in chain]})"
