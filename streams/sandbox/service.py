"""The payment operations: create, get, capture, void, refund, and the resolution of PENDING.

Synchronous and HTTP-free: handlers pass decoded JSON in and get a PaymentResponse dict back, or
an `ApiError`. Each status change is rendered once and handed to the event sink (webhooks).
A create reusing a merchantReference is answered per `duplicate_reference`; validation comes
first, so an invalid body is a 400 even when its reference exists. The card is read (outcome,
BIN) and dropped: the stored payment only has its CardResponse.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from streams.sandbox import cards, lifecycle, rules
from streams.sandbox.config import SandboxConfig
from streams.sandbox.errors import ApiError
from streams.sandbox.model import ECHOED_FIELDS, Payment, Status, Transaction, new_id, now_iso, render
from streams.sandbox.rules import Action, Op
from streams.sandbox.store import PaymentStore
from streams.sandbox.validation import FieldError, validate_amount_body, validate_payment

__all__ = ["EVENT_TYPES", "EventSink", "PaymentService"]

EVENT_TYPES: Final = {
    Status.PENDING: "PAYMENT_CREATED",
    Status.AUTHORIZED: "PAYMENT_AUTHORIZED",
    Status.CAPTURED: "PAYMENT_CAPTURED",
    Status.VOIDED: "PAYMENT_VOIDED",
    Status.REFUNDED: "PAYMENT_REFUNDED",
    Status.FAILED: "PAYMENT_FAILED",
}
_AMOUNT_KEYS: Final = {Op.CAPTURE: "captureAmount", Op.REFUND: "refundAmount"}


class EventSink(Protocol):
    enabled: bool

    def emit(self, event_type: str, payment: dict[str, Any]) -> None: ...


def _invalid(exc: FieldError) -> ApiError:
    message = f"{exc.field} {exc.message}" if exc.field else exc.message
    return ApiError(400, "VALIDATION_ERROR", message, field=exc.field)


class PaymentService:
    """Applies the API's operations to the store, one synchronous call each."""

    def __init__(self, config: SandboxConfig, events: EventSink) -> None:
        self._config = config
        self._events = events
        self._rng = random.Random(f"{config.seed}:lifecycle")
        self._delay = config.pending_delay
        self._weights = (
            config.mix_approve,
            config.mix_decline,
            config.mix_pending_approve,
            config.mix_pending_decline,
        )
        self.store = PaymentStore()
        self.scheduler = lifecycle.PendingScheduler(self._resolve)

    def render(self, payment: Payment) -> dict[str, Any]:
        return render(payment, legacy_failure_fields=self._config.legacy_failure_fields)

    def _changed(self, payment: Payment) -> None:
        self.store.changed(payment)
        if self._events.enabled:
            self._events.emit(EVENT_TYPES[payment.status], self.render(payment))

    def create(self, body: Any) -> dict[str, Any]:
        try:
            body = validate_payment(body)
        except FieldError as exc:
            raise _invalid(exc) from None
        reference: str = body["merchantReference"]
        self.store.count_create(reference)
        existing = self.store.by_reference(reference)
        if existing is not None:
            if self._config.duplicate_reference == "conflict":
                raise ApiError(
                    409,
                    "DUPLICATE_MERCHANT_REFERENCE",
                    "a payment with this merchantReference exists",
                    field="merchantReference",
                    details={"paymentId": existing.payment_id},
                )
            return self.render(existing)
        card = body["paymentMethod"]["card"]
        outcome = cards.decide_outcome(
            card,
            reference,
            now=datetime.now(UTC),
            seed=self._config.seed,
            weights=self._weights,
            decline_expired=self._config.decline_expired_cards,
        )
        at = now_iso()
        payment = Payment(
            payment_id=new_id("pay_", 22),
            merchant_reference=reference,
            amount=body["amount"],
            currency=body["currency"],
            capture_now=body.get("captureNow", False),
            goods_type=body["goodsType"],
            card=cards.card_response(card),
            echoed={k: body[k] for k in ECHOED_FIELDS if body.get(k) is not None},
            outcome=outcome,
            status=Status.PENDING,
            created_at=at,
            updated_at=at,
        )
        initiated_by = body["source"].get("initiatedBy")
        requires = self._config.pending_requires_initiated_by
        if lifecycle.starts_pending(outcome, initiated_by=initiated_by, requires_initiated_by=requires):
            plan = lifecycle.plan_pending(
                outcome, delay_ms=self._delay.sample(self._rng), window_ms=self._config.recovery_window_ms
            )
            self.scheduler.schedule(payment.payment_id, plan)
        else:
            if outcome.kind.pending:
                plan = lifecycle.immediate_plan(outcome)
            else:
                plan = lifecycle.PendingPlan(0.0, outcome.kind is cards.OutcomeKind.APPROVE, outcome.failure)
            self._settle(payment, plan, at)
        self.store.add(payment)
        if self._events.enabled:
            self._events.emit(EVENT_TYPES[payment.status], self.render(payment))
        return self.render(payment)

    def _settle(self, payment: Payment, plan: lifecycle.PendingPlan, at: str) -> None:
        status, txs, failure = rules.authorize(
            payment.amount,
            approved=plan.approved,
            failure=plan.failure,
            capture_now=payment.capture_now,
            capture_fails=payment.outcome.capture_fails,
            at=at,
        )
        payment.status, payment.failure = status, failure
        for tx in txs:
            payment.add(tx)

    def _resolve(self, payment_id: str, plan: lifecycle.PendingPlan) -> None:
        payment = self.store.get(payment_id)
        if payment is None or payment.status is not Status.PENDING:
            return
        self._settle(payment, plan, now_iso())
        self._changed(payment)

    def resolve_now(self, payment_id: str) -> bool:
        """Resolve a PENDING payment at once, as its timer would (introspection)."""
        plan = self.scheduler.pop(payment_id)
        if plan is None:
            return False
        self._resolve(payment_id, plan)
        return True

    def get(self, payment_id: str) -> dict[str, Any]:
        return self.render(self._find(payment_id))

    def _find(self, payment_id: str) -> Payment:
        payment = self.store.get(payment_id)
        if payment is None:
            raise ApiError(404, "NOT_FOUND", "no payment with this paymentId")
        return payment

    def operate(self, op: Op, payment_id: str, body: Any) -> dict[str, Any]:
        payment = self._find(payment_id)
        try:
            requested = validate_amount_body(body, _AMOUNT_KEYS[op]) if op in _AMOUNT_KEYS else None
            decision = rules.decide_operation(
                op,
                payment.status,
                amount=payment.amount,
                refunded=payment.refunded,
                requested=requested,
                wrong_state=self._config.wrong_state,
                idempotent_replays=self._config.idempotent_replays,
            )
        except FieldError as exc:
            raise _invalid(exc) from None
        if decision.action is Action.REFUSE:
            raise ApiError(
                409,
                "INVALID_STATE",
                f"cannot {op} a payment in status {payment.status}",
                details={"status": payment.status},
            )
        if decision.action is Action.REPLAY:
            return self.render(payment)
        if decision.action is Action.RECORD_FAILURE:
            payment.add(Transaction.new(op.tx_type, decision.amount, rules.INVALID_STATE))
            self.store.changed(payment)
            return self.render(payment)
        failing = (op is Op.CAPTURE and payment.outcome.capture_fails) or (
            op is Op.REFUND and payment.outcome.refund_fails
        )
        payment.add(
            Transaction.new(op.tx_type, decision.amount, cards.OPERATION_FAILURE if failing else None)
        )
        if failing:
            self.store.changed(payment)
            return self.render(payment)
        if op is Op.VOID:
            self.scheduler.cancel(payment_id)
        if op is Op.REFUND:
            payment.refunded += decision.amount
        assert decision.new_status is not None
        if decision.new_status is payment.status:
            self.store.changed(payment)
        else:
            payment.status = decision.new_status
            self._changed(payment)
        return self.render(payment)

    def reset(self) -> None:
        self.scheduler.cancel_all()
        self.store.clear()
