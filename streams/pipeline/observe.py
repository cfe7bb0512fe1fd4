"""Decisions turned into metrics: what each status change and note means for the dashboards.

Kept apart from the agent so that the mapping (recovered, failed, expired, voided, refunded, time
to recover, void latency, pending gauge) is read and tested in one place.
"""

from __future__ import annotations

from datetime import datetime

from schemas.enums import PaymentStatus
from streams.metrics import Metrics, StopAction, StopTrigger
from streams.pipeline.decision import Decision, Note
from streams.pipeline.state import PaymentState, StatusEntry, StopKind

__all__ = ["EXPIRED_CODES", "record_decision"]

#: Paymend failure codes meaning "the maximum recovery window ran out" (the sandbox's; Paymend's own
#: code is undocumented).
EXPIRED_CODES = frozenset({"RECOVERY_WINDOW_EXPIRED"})

_RECOVERED = (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED)


def record_decision(
    metrics: Metrics, before: PaymentState | None, after: PaymentState, decision: Decision
) -> None:
    labels = {"decline_code": _first_code(after), "store_id": after.store_id, "currency": after.currency}
    for note in decision.notes:
        if note is Note.RECOVERY_STARTED:
            metrics.recovery_started(**labels)
        elif note is Note.WEBHOOK_DUPLICATE:
            metrics.webhook_duplicate()
        elif note is Note.WEBHOOK_STALE:
            metrics.webhook_stale()
    for entry in decision.statuses:
        _record_status(metrics, after, entry, labels)
    if decision.conflict is not None:
        previous = before.status.value if before and before.status else None
        incoming = decision.conflict_status.value if decision.conflict_status else None
        metrics.conflict(previous, incoming)


def _record_status(
    metrics: Metrics, state: PaymentState, entry: StatusEntry, labels: dict[str, str | None]
) -> None:
    if entry.status is PaymentStatus.PENDING:
        metrics.payment_became_pending()
    elif entry.previous is PaymentStatus.PENDING:
        metrics.payment_left_pending()
    if entry.status in _RECOVERED and entry.previous not in _RECOVERED:
        metrics.recovery_recovered(
            **labels,
            amount_minor=state.amount or 0,
            seconds_to_recover=_since_first_decline(state, entry.occurred_at),
        )
    elif entry.status is PaymentStatus.FAILED:
        if entry.failure_code in EXPIRED_CODES:
            metrics.recovery_expired(**labels)
        else:
            metrics.recovery_failed(**labels)
    elif entry.status in (PaymentStatus.VOIDED, PaymentStatus.REFUNDED):
        stop = state.stop
        trigger = StopTrigger.SETTLED_ELSEWHERE
        seconds = None
        if stop is not None:
            if stop.kind is StopKind.CANCELLED:
                trigger = StopTrigger.ORDER_CANCELLED
            seconds = (entry.occurred_at - stop.requested_at).total_seconds()
        action = StopAction.VOID if entry.status is PaymentStatus.VOIDED else StopAction.REFUND
        metrics.recovery_stopped(action, trigger=trigger, seconds=seconds, **labels)


def _first_code(state: PaymentState) -> str | None:
    first = state.first_decline
    return first.code if first else None


def _since_first_decline(state: PaymentState, at: datetime) -> float:
    first = state.first_decline
    return (at - first.occurred_at).total_seconds() if first else 0.0
