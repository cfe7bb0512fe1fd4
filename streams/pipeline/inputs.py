"""What the decision core reacts to: plain values the agent builds from decoded records.

Every input carries its `Source` (topic and offset), which lets the core recognise a redelivery
(the same record again after a crash or rebalance) apart from a duplicate sent twice upstream.
None of these hold card data: the card of a decline stays with the agent, which passes it only
to the Paymend create call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.enums import PaymentStatus
from streams.pipeline.state import DeclineInfo, OpKind, StopKind

__all__ = [
    "CallOutcome",
    "Decline",
    "Input",
    "PaymentSnapshot",
    "Reconcile",
    "Source",
    "Stop",
    "Webhook",
]


@dataclass(frozen=True, slots=True)
class Source:
    """Where an input was read (`topic:offset`), for redelivery detection and status provenance.

    `follow_up`: the input is the outcome of a call this record caused, applied on its behalf (not
    read from the topic): the record's offset is already applied, and that is no redelivery.
    """

    topic: str
    offset: int
    follow_up: bool = False

    def __str__(self) -> str:
        return f"{self.topic}:{self.offset}"


@dataclass(frozen=True, slots=True)
class Decline:
    """The merchant's provider declined the payment (a `DeclineEvent`, without its card)."""

    payment_id: str
    order_id: str
    amount: int
    currency: str
    store_id: str
    info: DeclineInfo


@dataclass(frozen=True, slots=True)
class Stop:
    """`OrderCancelled` or `PaymentSettledElsewhere`: no further charge may happen."""

    payment_id: str
    kind: StopKind
    occurred_at: datetime
    double_charge: bool = False


@dataclass(frozen=True, slots=True)
class PaymentSnapshot:
    """A payment as Paymend reports it (a webhook's payment, or a call's PaymentResponse)."""

    paymend_payment_id: str
    status: PaymentStatus
    occurred_at: datetime
    failure_code: str | None = None
    provider_failure_code: str | None = None


@dataclass(frozen=True, slots=True)
class Webhook:
    event_id: str
    payment: PaymentSnapshot


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """The definite answer to a Paymend call, fed back through the effects topic.

    `payment` is set on success; `rejected_status` (the HTTP status) and `reason` on a 4xx refusal.
    Transient failures never become outcomes: the agent retries those until it gets an answer.
    """

    op_id: str
    kind: OpKind
    payment: PaymentSnapshot | None = None
    rejected_status: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Reconcile:
    """The periodic scan asks: is this payment stuck, and should Paymend be asked about it?"""

    requested_at: datetime


Input = Decline | Stop | Webhook | CallOutcome | Reconcile
