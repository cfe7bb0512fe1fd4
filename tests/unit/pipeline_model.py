"""A small executable model around the decision core, for scenario and property tests.

`Harness` plays the agent: it feeds inputs to `decide`, stores the state, records published
statuses, and queues each Paymend call. `ModelPaymend` plays Paymend: one payment per
merchantReference (a repeated create returns it), PENDING payments that resolve when the test says,
void only from PENDING/AUTHORIZED, refund only from CAPTURED (409 otherwise). A test decides when
each queued call is answered, when Paymend resolves, which webhooks arrive and when the worker
"crashes" (forgets what it had in flight and sees inputs again).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas.enums import PaymentStatus
from schemas.status import status_event_id
from streams.pipeline.decide import decide
from streams.pipeline.decision import Call, Decision
from streams.pipeline.inputs import CallOutcome, Decline, Input, PaymentSnapshot, Source, Stop, Webhook
from streams.pipeline.policy import Policy
from streams.pipeline.state import DeclineInfo, OpKind, PaymentState, StopKind

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PID = "pay-1"


def decline(attempt: int = 1, code: str = "51", payment_id: str = PID) -> Decline:
    info = DeclineInfo("AcquirerX", code, attempt, T0 + timedelta(seconds=attempt))
    return Decline(payment_id, "order-1", 4999, "EUR", "store-1", info)


def stop(kind: StopKind = StopKind.CANCELLED, double_charge: bool = False) -> Stop:
    return Stop(PID, kind, T0 + timedelta(minutes=5), double_charge)


@dataclass
class ModelPayment:
    paymend_id: str
    status: PaymentStatus
    resolves_to: PaymentStatus


@dataclass
class ModelPaymend:
    """Paymend's documented lifecycle, with the README's assumptions for what the docs leave open."""

    outcome: PaymentStatus = PaymentStatus.PENDING
    resolves_to: PaymentStatus = PaymentStatus.AUTHORIZED
    payments: dict[str, ModelPayment] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    webhooks: list[PaymentSnapshot] = field(default_factory=list)

    def answer(self, ref: str, call: Call) -> CallOutcome:
        self.calls[call.kind.value] += 1
        payment = self.payments.get(ref)
        if call.kind is OpKind.CREATE:
            if payment is None:
                payment = ModelPayment(f"pm_{len(self.payments) + 1}", self.outcome, self.resolves_to)
                self.payments[ref] = payment
                self._emit(payment)
            return CallOutcome(call.op_id, call.kind, payment=self._snap(payment))
        assert payment is not None
        assert call.paymend_payment_id == payment.paymend_id
        if call.kind is OpKind.VOID and payment.status in (PaymentStatus.PENDING, PaymentStatus.AUTHORIZED):
            self._move(payment, PaymentStatus.VOIDED)
        elif call.kind is OpKind.REFUND and payment.status is PaymentStatus.CAPTURED:
            self._move(payment, PaymentStatus.REFUNDED)
        elif call.kind is not OpKind.QUERY:
            return CallOutcome(call.op_id, call.kind, rejected_status=409, reason="INVALID_STATE")
        return CallOutcome(call.op_id, call.kind, payment=self._snap(payment))

    def resolve(self, ref: str) -> None:
        """Paymend's background recovery ends (no-op unless PENDING)."""
        payment = self.payments.get(ref)
        if payment is not None and payment.status is PaymentStatus.PENDING:
            self._move(payment, payment.resolves_to)

    def _move(self, payment: ModelPayment, status: PaymentStatus) -> None:
        payment.status = status
        self._emit(payment)

    def _emit(self, payment: ModelPayment) -> None:
        self.webhooks.append(self._snap(payment))

    def _snap(self, payment: ModelPayment) -> PaymentSnapshot:
        failure = "INSUFFICIENT_FUNDS" if payment.status is PaymentStatus.FAILED else None
        return PaymentSnapshot(payment.paymend_id, payment.status, T0 + timedelta(hours=1), failure)


@dataclass
class Harness:
    """The agent's side: state table, topic offsets, published statuses, calls in flight."""

    policy: Policy = field(default_factory=Policy)
    paymend: ModelPaymend = field(default_factory=ModelPaymend)
    state: PaymentState | None = None
    published: list[tuple[str, PaymentStatus]] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    queued: list[tuple[Call, Source]] = field(default_factory=list)
    log: list[tuple[Input, Source]] = field(default_factory=list)
    now: datetime = T0
    offsets: dict[str, itertools.count[int]] = field(default_factory=dict)
    event_ids: itertools.count[int] = field(default_factory=itertools.count)

    def feed(self, event: Input, topic: str | None = None) -> Decision:
        topic = topic or type(event).__name__.lower()
        offset = next(self.offsets.setdefault(topic, itertools.count()))
        source = Source(topic, offset)
        self.log.append((event, source))
        return self._decide(event, source)

    def replay(self, index: int) -> Decision:
        """Redeliver the `index`-th input (as after a crash: same topic and offset)."""
        event, source = self.log[index]
        return self._decide(event, source)

    def _decide(self, event: Input, source: Source) -> Decision:
        in_flight = bool(self.queued)
        d = decide(
            self.state, event, source, payment_id=PID, now=self.now, in_flight=in_flight, policy=self.policy
        )
        if d.state is not None:
            self.state = d.state
        for entry in d.statuses:
            pid = self.state.paymend_payment_id if self.state else None
            self.published.append((status_event_id(PID, entry.status, pid), entry.status))
        if d.dead_letter:
            self.dead_letters.append(d.dead_letter)
        if d.conflict:
            self.conflicts.append(d.conflict)
        if d.call is not None:
            assert not in_flight, "the core asked for a second call while one is in flight"
            self.queued.append((d.call, source))
        return d

    def answer_next(self) -> Decision | None:
        """Paymend answers the oldest queued call; its outcome comes back through the effects topic."""
        if not self.queued:
            return None
        call, _ = self.queued.pop(0)
        return self.feed(self.paymend.answer(PID, call), "effects")

    def deliver_webhooks(self) -> None:
        for snap in self.paymend.webhooks:
            self.feed(Webhook(f"evt-{next(self.event_ids)}", snap), "webhooks")
        self.paymend.webhooks.clear()

    def crash(self) -> None:
        """The worker dies: calls in flight are forgotten (their answers may still have landed)."""
        self.queued.clear()

    def drain(self) -> None:
        while self.queued or self.paymend.webhooks:
            self.answer_next()
            self.deliver_webhooks()

    @property
    def status(self) -> PaymentStatus | None:
        return self.state.status if self.state else None

    @property
    def at_paymend(self) -> PaymentStatus | None:
        payment = self.paymend.payments.get(PID)
        return payment.status if payment else None
