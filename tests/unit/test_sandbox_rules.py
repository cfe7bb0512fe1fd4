"""Sandbox state rules and PENDING lifecycle decisions (pure functions, no server)."""

import pytest

from streams.sandbox.cards import OPERATION_FAILURE, Failure, Outcome, OutcomeKind
from streams.sandbox.lifecycle import immediate_plan, plan_pending, starts_pending
from streams.sandbox.model import Status, TxResult, TxType
from streams.sandbox.rules import Action, Decision, Op, authorize, decide_operation
from streams.sandbox.validation import FieldError

NSF = Failure("INSUFFICIENT_FUNDS", "51")
ALLOWED = {
    (Op.CAPTURE, Status.AUTHORIZED),
    (Op.VOID, Status.PENDING),
    (Op.VOID, Status.AUTHORIZED),
    (Op.REFUND, Status.CAPTURED),
}
REPLAYS = {(Op.CAPTURE, Status.CAPTURED), (Op.VOID, Status.VOIDED), (Op.REFUND, Status.REFUNDED)}


def decide(
    op: Op,
    status: Status,
    *,
    refunded: int = 0,
    requested: int | None = None,
    wrong_state: str = "error",
    idempotent_replays: bool = False,
) -> Decision:
    return decide_operation(
        op,
        status,
        amount=1000,
        refunded=refunded,
        requested=requested,
        wrong_state=wrong_state,
        idempotent_replays=idempotent_replays,
    )


@pytest.mark.parametrize("op", list(Op))
@pytest.mark.parametrize("status", list(Status))
def test_wrong_state_matrix(op: Op, status: Status) -> None:
    strict = decide(op, status)
    recorded = decide(op, status, wrong_state="failed-transaction")
    replaying = decide(op, status, idempotent_replays=True)
    if (op, status) in ALLOWED:
        assert strict.action is recorded.action is replaying.action is Action.APPLY
        return
    assert strict.action is Action.REFUSE
    assert recorded.action is Action.RECORD_FAILURE
    expected = Action.REPLAY if (op, status) in REPLAYS else Action.REFUSE
    assert replaying.action is expected


def test_capture_is_always_full_and_bounded() -> None:
    assert decide(Op.CAPTURE, Status.AUTHORIZED, requested=750).amount == 1000
    with pytest.raises(FieldError) as caught:
        decide(Op.CAPTURE, Status.AUTHORIZED, requested=1001)
    assert caught.value.field == "captureAmount"


def test_partial_refunds_keep_captured_until_the_last_one() -> None:
    first = decide(Op.REFUND, Status.CAPTURED, requested=400)
    assert (first.amount, first.new_status) == (400, Status.CAPTURED)
    rest = decide(Op.REFUND, Status.CAPTURED, refunded=400)
    assert (rest.amount, rest.new_status) == (600, Status.REFUNDED)
    exact = decide(Op.REFUND, Status.CAPTURED, refunded=400, requested=600)
    assert exact.new_status is Status.REFUNDED
    with pytest.raises(FieldError) as caught:
        decide(Op.REFUND, Status.CAPTURED, refunded=400, requested=601)
    assert caught.value.field == "refundAmount"


def test_void_leads_to_voided() -> None:
    assert decide(Op.VOID, Status.PENDING).new_status is Status.VOIDED


def test_authorize_outcomes() -> None:
    status, txs, failure = authorize(
        1000, approved=False, failure=NSF, capture_now=True, capture_fails=False, at="t"
    )
    assert status is Status.FAILED
    assert failure == NSF
    assert [(t.type, t.result, t.failure) for t in txs] == [(TxType.AUTHORIZATION, TxResult.FAILED, NSF)]

    status, txs, failure = authorize(
        1000, approved=True, failure=None, capture_now=False, capture_fails=False, at="t"
    )
    assert status is Status.AUTHORIZED
    assert failure is None
    assert [t.type for t in txs] == [TxType.AUTHORIZATION]

    status, txs, _ = authorize(
        1000, approved=True, failure=None, capture_now=True, capture_fails=False, at="t"
    )
    assert status is Status.CAPTURED
    assert [(t.type, t.result) for t in txs] == [
        (TxType.AUTHORIZATION, TxResult.SUCCEEDED),
        (TxType.CAPTURE, TxResult.SUCCEEDED),
    ]
    assert all(t.id.startswith(("AUTH_", "CAPT_")) and len(t.id) <= 32 for t in txs)

    status, txs, _ = authorize(
        1000, approved=True, failure=None, capture_now=True, capture_fails=True, at="t"
    )
    assert status is Status.AUTHORIZED
    assert txs[-1].result is TxResult.FAILED
    assert txs[-1].failure == OPERATION_FAILURE


def test_pending_resolves_within_the_window() -> None:
    approve = plan_pending(Outcome(OutcomeKind.PENDING_APPROVE), delay_ms=100, window_ms=1000)
    assert (approve.after_ms, approve.approved, approve.failure) == (100, True, None)
    decline = plan_pending(Outcome(OutcomeKind.PENDING_DECLINE, NSF), delay_ms=100, window_ms=1000)
    assert (decline.approved, decline.failure) == (False, NSF)


def test_the_window_bounds_every_pending_payment() -> None:
    late = plan_pending(Outcome(OutcomeKind.PENDING_APPROVE), delay_ms=1000, window_ms=1000)
    assert (late.after_ms, late.approved) == (1000, False)
    assert late.failure == Failure("RECOVERY_WINDOW_EXPIRED")
    late_decline = plan_pending(Outcome(OutcomeKind.PENDING_DECLINE, NSF), delay_ms=5000, window_ms=1000)
    assert late_decline.failure == Failure("RECOVERY_WINDOW_EXPIRED", "51")
    forever = plan_pending(Outcome(OutcomeKind.PENDING_EXPIRE), delay_ms=1, window_ms=250)
    assert (forever.after_ms, forever.approved) == (250, False)
    assert forever.failure is not None
    assert forever.failure.failure_code == "RECOVERY_WINDOW_EXPIRED"


def test_pending_may_require_initiated_by() -> None:
    pending = Outcome(OutcomeKind.PENDING_APPROVE)
    assert starts_pending(pending, initiated_by=None, requires_initiated_by=False)
    assert not starts_pending(pending, initiated_by=None, requires_initiated_by=True)
    assert starts_pending(pending, initiated_by="MERCHANT", requires_initiated_by=True)
    assert not starts_pending(
        Outcome(OutcomeKind.APPROVE), initiated_by="MERCHANT", requires_initiated_by=False
    )
    assert immediate_plan(pending).approved
    assert immediate_plan(Outcome(OutcomeKind.PENDING_DECLINE, NSF)).failure == NSF
    assert not immediate_plan(Outcome(OutcomeKind.PENDING_EXPIRE)).approved
