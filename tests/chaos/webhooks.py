"""Paymend's webhooks delivered with 30 % duplicates and 30 % reordering.

The sandbox delivers an event a second time (same eventId) with probability 0.3 and holds an
event back (so that later ones overtake it) with probability 0.3. Payments go PENDING, then
approved or failed in the background; every fourth one is also stopped (voided), so a payment
has up to three webhooks to get right. Checked, besides `payments.settle` (final state at
Paymend = last status on the status topic, for 100 % of payments; chains only move forward;
a status never published under two event IDs): the duplicates that reached the raw webhook
topic carry a repeated eventId, and the sandbox did duplicate and reorder.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from schemas.paymend import PaymendWebhookEvent
from tests.chaos.payments import StatusView, Workload, run_workload
from tests.chaos.result import Result
from tests.fixtures.pipeline import APPROVE, PENDING_APPROVE, PENDING_FAIL_51
from tests.harness.system import System

__all__ = ["webhook_chaos"]

CHAOS_SANDBOX_ENV = {"SANDBOX_WEBHOOK_DUPLICATE_RATE": "0.3", "SANDBOX_WEBHOOK_REORDER_RATE": "0.3"}


def webhook_chaos(run_dir: Path, *, payments: int = 2_000, stop_every: int = 4) -> Result:
    result = Result("webhooks 30 % dup, 30 % reorder")
    started = time.monotonic()
    workload = Workload.make(
        "webhooks", payments, stop_every=stop_every, cards=(PENDING_APPROVE, PENDING_FAIL_51, APPROVE)
    )

    def check_webhooks(system: System, view: StatusView) -> None:
        stats = system.sandbox_stats()["webhooks"]
        emitted = stats["emitted"]
        topic = system.settings.topic_webhooks
        records = system.read(topic, until=lambda n: n >= emitted + stats["duplicated"], timeout=30)
        events = [PaymendWebhookEvent.decode(value) for _, _, value in records]
        copies = Counter(e.event_id for e in events)
        by_content = Counter((e.event_id, e.payment.status, e.payment.paymend_payment_id) for e in events)
        result.check(len(by_content) == len(copies), "one eventId was delivered with different contents")
        result.check(len(copies) >= emitted, f"{emitted} events emitted, {len(copies)} reached the topic")
        causes = Counter(e.cause for events in view.by_payment.values() for e in events)
        result.details |= {
            "webhooks emitted": emitted,
            "duplicated": stats["duplicated"],
            "reordered": stats["reordered"],
            "raw topic records": len(events),
            "repeated eventIds": len(events) - len(copies),
            **{f"statuses by {cause.lower()}": count for cause, count in sorted(causes.items())},
        }
        result.check(stats["duplicated"] > 0 and stats["reordered"] > 0, "the sandbox did not misbehave")

    run_workload(result, run_dir, workload, sandbox_env=CHAOS_SANDBOX_ENV, after=check_webhooks)
    result.seconds = time.monotonic() - started
    return result
