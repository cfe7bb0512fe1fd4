"""The state machine's rules as pure functions: what an authorization produces, and whether a
capture, void or refund applies, replays, or is refused in the current state.

Choices where the docs are silent (paymend-api.md §9.6, §9.7, §9.11, C2, C6):
- A sale (captureNow) that succeeds records two transactions, AUTHORIZATION then CAPTURE.
- Capture is allowed from AUTHORIZED only and always captures the full amount: a `captureAmount`
  up to the authorized amount is accepted and ignored (the docs say partial captures are not yet
  supported); above it, 400 naming `captureAmount`.
- Void is allowed from PENDING and AUTHORIZED; refund from CAPTURED only.
- A partial refund records a REFUND transaction and the payment stays CAPTURED until the refunds
  add up to the amount, then it becomes REFUNDED. A `refundAmount` above what is left: 400.
- Any other state is a wrong state: `error` mode refuses it (409 INVALID_STATE),
  `failed-transaction` mode records a FAILED transaction (failureCode INVALID_STATE) and keeps the
  status. With `idempotent_replays`, an operation on the state it leads to (capture on CAPTURED,
  void on VOIDED, refund on REFUNDED) answers the payment unchanged instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from streams.sandbox.cards import OPERATION_FAILURE, Failure
from streams.sandbox.model import Status, Transaction, TxType
from streams.sandbox.validation import FieldError

__all__ = ["Action", "Decision", "Op", "authorize", "decide_operation"]

INVALID_STATE: Final = Failure("INVALID_STATE")


class Op(StrEnum):
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"

    @property
    def tx_type(self) -> TxType:
        return {Op.CAPTURE: TxType.CAPTURE, Op.VOID: TxType.VOID, Op.REFUND: TxType.REFUND}[self]


ALLOWED_FROM: Final = {
    Op.CAPTURE: frozenset({Status.AUTHORIZED}),
    Op.VOID: frozenset({Status.PENDING, Status.AUTHORIZED}),
    Op.REFUND: frozenset({Status.CAPTURED}),
}
LEADS_TO: Final = {Op.CAPTURE: Status.CAPTURED, Op.VOID: Status.VOIDED, Op.REFUND: Status.REFUNDED}


class Action(StrEnum):
    APPLY = "apply"  # record a SUCCEEDED transaction (or FAILED, for a failing test card)
    REPLAY = "replay"  # answer the payment unchanged
    REFUSE = "refuse"  # 409 INVALID_STATE
    RECORD_FAILURE = "record-failure"  # FAILED transaction, status unchanged, 200


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    amount: int = 0
    new_status: Status | None = None  # the status after a SUCCEEDED transaction


def decide_operation(
    op: Op,
    status: Status,
    *,
    amount: int,
    refunded: int,
    requested: int | None,
    wrong_state: str,
    idempotent_replays: bool,
) -> Decision:
    """Decide an operation on a payment in `status`; raise FieldError for an excessive amount."""
    if status not in ALLOWED_FROM[op]:
        if idempotent_replays and status is LEADS_TO[op]:
            return Decision(Action.REPLAY)
        if wrong_state == "failed-transaction":
            return Decision(Action.RECORD_FAILURE, requested or amount)
        return Decision(Action.REFUSE)
    if op is Op.CAPTURE:
        if requested is not None and requested > amount:
            raise FieldError("captureAmount", "must not exceed the authorized amount")
        return Decision(Action.APPLY, amount, Status.CAPTURED)
    if op is Op.VOID:
        return Decision(Action.APPLY, amount, Status.VOIDED)
    left = amount - refunded
    value = left if requested is None else requested
    if value > left:
        raise FieldError("refundAmount", "must not exceed the captured amount not yet refunded")
    return Decision(Action.APPLY, value, Status.REFUNDED if value == left else Status.CAPTURED)


def authorize(
    amount: int, *, approved: bool, failure: Failure | None, capture_now: bool, capture_fails: bool, at: str
) -> tuple[Status, list[Transaction], Failure | None]:
    """The status, transactions and failure that a final authorization decision produces."""
    if not approved:
        return Status.FAILED, [Transaction.new(TxType.AUTHORIZATION, amount, failure, at)], failure
    txs = [Transaction.new(TxType.AUTHORIZATION, amount, None, at)]
    if not capture_now:
        return Status.AUTHORIZED, txs, None
    if capture_fails:
        txs.append(Transaction.new(TxType.CAPTURE, amount, OPERATION_FAILURE, at))
        return Status.AUTHORIZED, txs, None
    txs.append(Transaction.new(TxType.CAPTURE, amount, None, at))
    return Status.CAPTURED, txs, None
