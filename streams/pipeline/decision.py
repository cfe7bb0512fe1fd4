"""What a decision asks the agent to do: store a state, call Paymend, publish, dead-letter, count.

A `Decision` is a value: the core computes it, the agent applies it in a fixed order (state, then
status events, dead letter, conflict, then the Paymend call) and turns `notes` into metrics and
log lines.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from schemas.enums import PaymentStatus
from streams.pipeline.state import DeclineInfo, OpKind, PaymentState, StatusEntry

__all__ = ["Call", "Decision", "Note"]


class Note(enum.StrEnum):
    """Things worth counting that are not status changes."""

    RECOVERY_STARTED = "recovery_started"
    DECLINE_RECORDED = "decline_recorded"
    DECLINE_SUPPRESSED = "decline_suppressed"  # arrived after a stop: never reaches Paymend
    DECLINE_REFUSED = "decline_refused"  # the payment already ended at Paymend
    STOP_RECORDED = "stop_recorded"
    STOP_TOO_LATE = "stop_too_late"  # the payment had already ended
    CAPTURED_NOT_REFUNDED = "captured_not_refunded"  # policy `none`
    WEBHOOK_APPLIED = "webhook_applied"
    WEBHOOK_DUPLICATE = "webhook_duplicate"
    WEBHOOK_STALE = "webhook_stale"
    CONFLICT = "conflict"
    OUTCOME_STALE = "outcome_stale"
    REDELIVERY = "redelivery"
    REDRIVE = "redrive"
    CREATE_REJECTED = "create_rejected"
    STUCK = "stuck"


@dataclass(frozen=True, slots=True)
class Call:
    """A Paymend call to make. A CREATE uses the card of the decline the agent holds."""

    kind: OpKind
    op_id: str
    paymend_payment_id: str | None = None
    previous_failures: tuple[DeclineInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    state: PaymentState | None = None  # None: nothing to store
    statuses: tuple[StatusEntry, ...] = ()
    call: Call | None = None
    dead_letter: str | None = None
    conflict: str | None = None
    conflict_status: PaymentStatus | None = None  # the reported status that was refused, if any
    notes: tuple[Note, ...] = field(default=())
