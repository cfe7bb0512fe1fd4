"""The decision core, scenario by scenario, driven through the executable model of Paymend."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from schemas.enums import PaymentStatus, StatusCause
from streams.metrics import Metrics
from streams.pipeline.decide import decide
from streams.pipeline.decision import Decision, Note
from streams.pipeline.inputs import CallOutcome, Input, PaymentSnapshot, Reconcile, Source, Webhook
from streams.pipeline.lifecycle import Ordering, compare
from streams.pipeline.observe import record_decision
from streams.pipeline.policy import Policy
from streams.pipeline.state import OpKind, PaymentState, StopKind
from tests.unit.pipeline_model import PID, T0, Harness, ModelPaymend, decline, stop

P = PaymentStatus


def test_a_decline_records_the_intent_before_the_call() -> None:
    h = Harness()
    d = h.feed(decline())
    assert d.call is not None
    assert d.call.kind is OpKind.CREATE
    assert d.state is not None
    assert d.state.operation is not None
    assert d.state.operation.op_id == d.call.op_id
    assert [f.code for f in d.call.previous_failures] == ["51"]
    assert Note.RECOVERY_STARTED in d.notes


@pytest.mark.parametrize("final", [P.AUTHORIZED, P.CAPTURED, P.FAILED])
def test_happy_path_publishes_pending_then_the_final_status(final: PaymentStatus) -> None:
    h = Harness(paymend=ModelPaymend(resolves_to=final))
    h.feed(decline())
    h.drain()
    assert [s for _, s in h.published] == [P.PENDING]
    h.paymend.resolve(PID)
    h.drain()
    assert [s for _, s in h.published] == [P.PENDING, final]
    assert h.paymend.calls == Counter({"CREATE": 1})


def test_webhook_for_pending_before_the_create_answer_is_not_published_twice() -> None:
    h = Harness()
    h.feed(decline())
    call, _ = h.queued.pop(0)
    outcome = h.paymend.answer(PID, call)
    h.deliver_webhooks()  # PAYMENT_CREATED overtakes the create answer
    h.feed(outcome, "effects")
    assert [s for _, s in h.published] == [P.PENDING]


def test_a_second_decline_while_pending_is_recorded_not_resubmitted() -> None:
    h = Harness()
    h.feed(decline(1, "51"))
    h.drain()
    d = h.feed(decline(2, "05"))
    assert d.call is None
    assert h.state is not None
    assert [x.code for x in h.state.declines] == ["51", "05"]
    assert h.paymend.calls["CREATE"] == 1


def test_a_decline_while_the_create_is_in_flight_never_starts_another() -> None:
    h = Harness()
    h.feed(decline(1))
    d = h.feed(decline(2))
    assert d.call is None
    h.drain()
    assert h.paymend.calls["CREATE"] == 1


def test_a_decline_after_paymend_ended_the_payment_is_refused_with_a_reason() -> None:
    h = Harness(paymend=ModelPaymend(outcome=P.FAILED))
    h.feed(decline(1))
    h.drain()
    d = h.feed(decline(2))
    assert d.call is None
    assert d.dead_letter is not None
    assert "new payment ID" in d.dead_letter
    assert Note.DECLINE_REFUSED in d.notes


def test_a_stop_before_the_decline_means_the_decline_never_reaches_paymend() -> None:
    h = Harness()
    h.feed(stop())
    d = h.feed(decline())
    assert d.call is None
    assert Note.DECLINE_SUPPRESSED in d.notes
    h.drain()
    assert h.paymend.calls == Counter()


def test_a_stop_during_the_create_call_voids_as_soon_as_the_payment_exists() -> None:
    h = Harness()
    h.feed(decline())
    assert h.feed(stop()).call is None  # the create is in flight: remembered, not acted on yet
    h.drain()
    assert h.at_paymend is P.VOIDED
    assert h.status is P.VOIDED
    assert h.paymend.calls == Counter({"CREATE": 1, "VOID": 1})
    assert [s for _, s in h.published] == [P.PENDING, P.VOIDED]


@pytest.mark.parametrize("paymend_status", [P.PENDING, P.AUTHORIZED])
def test_a_stop_on_a_live_payment_voids_it_once(paymend_status: PaymentStatus) -> None:
    h = Harness(paymend=ModelPaymend(outcome=paymend_status))
    h.feed(decline())
    h.drain()
    h.feed(stop())
    h.feed(stop())  # the same cancel again
    h.drain()
    assert h.at_paymend is P.VOIDED
    assert h.paymend.calls["VOID"] == 1


def test_settled_elsewhere_after_capture_refunds_the_double_charge() -> None:
    h = Harness(paymend=ModelPaymend(outcome=P.CAPTURED))
    h.feed(decline())
    h.drain()
    h.feed(stop(StopKind.SETTLED_ELSEWHERE, double_charge=True))
    h.drain()
    assert h.at_paymend is P.REFUNDED
    assert [s for _, s in h.published] == [P.CAPTURED, P.REFUNDED]


def test_refund_policy_none_reports_instead_of_refunding() -> None:
    h = Harness(policy=Policy(refund_captured_on_cancel=False), paymend=ModelPaymend(outcome=P.CAPTURED))
    h.feed(decline())
    h.drain()
    d = h.feed(stop(StopKind.CANCELLED))
    assert d.call is None
    assert Note.CAPTURED_NOT_REFUNDED in d.notes
    assert h.at_paymend is P.CAPTURED


def test_a_void_that_loses_the_race_with_capture_queries_and_refunds() -> None:
    h = Harness(paymend=ModelPaymend(resolves_to=P.CAPTURED))
    h.feed(decline())
    h.drain()
    h.feed(stop(StopKind.SETTLED_ELSEWHERE))
    h.paymend.resolve(PID)  # Paymend captures while our void is on its way
    h.drain()
    assert h.at_paymend is P.REFUNDED
    assert h.paymend.calls == Counter({"CREATE": 1, "VOID": 1, "QUERY": 1, "REFUND": 1})


def test_duplicate_and_reordered_webhooks_keep_the_final_state_and_publish_once() -> None:
    h = Harness(paymend=ModelPaymend(outcome=P.PENDING, resolves_to=P.CAPTURED))
    h.feed(decline())
    call, _ = h.queued.pop(0)
    h.feed(h.paymend.answer(PID, call), "effects")
    h.paymend.resolve(PID)
    created, captured = h.paymend.webhooks
    h.paymend.webhooks.clear()
    h.feed(Webhook("evt-c", captured), "webhooks")
    h.feed(Webhook("evt-c", captured), "webhooks")
    d = h.feed(Webhook("evt-p", created), "webhooks")
    assert Note.WEBHOOK_STALE in d.notes
    assert h.status is P.CAPTURED
    ids = [i for i, _ in h.published]
    assert len(ids) == len(set(ids)) == 2


def test_an_impossible_transition_goes_to_conflicts() -> None:
    h = Harness(paymend=ModelPaymend(outcome=P.CAPTURED))
    h.feed(decline())
    h.drain()
    snap = PaymentSnapshot("pm_1", P.VOIDED, T0)
    d = h.feed(Webhook("evt-x", snap), "webhooks")
    assert d.conflict is not None
    assert "VOIDED cannot follow CAPTURED" in d.conflict
    assert d.conflict_status is P.VOIDED
    assert h.status is P.CAPTURED


def test_a_webhook_for_another_paymend_payment_is_a_conflict() -> None:
    h = Harness()
    h.feed(decline())
    h.drain()
    d = h.feed(Webhook("evt-y", PaymentSnapshot("pm_other", P.AUTHORIZED, T0)), "webhooks")
    assert d.conflict is not None
    assert h.status is P.PENDING


def test_a_crash_mid_create_redrives_it_with_the_same_reference_on_redelivery() -> None:
    h = Harness()
    h.feed(decline())
    call, _ = h.queued[0]
    h.paymend.answer(PID, call)  # Paymend created it, but the answer died with the worker
    h.crash()
    d = h.replay(0)
    assert d.call is not None
    assert d.call.kind is OpKind.CREATE
    assert d.call.op_id == call.op_id
    h.drain()
    assert len(h.paymend.payments) == 1
    assert h.status is P.PENDING


def test_a_redelivered_input_republishes_what_it_caused_with_the_same_event_id() -> None:
    h = Harness()
    h.feed(decline())
    h.answer_next()
    first = list(h.published)
    index = len(h.log) - 1  # the create outcome
    d = h.replay(index)
    assert d.state is None
    assert Note.REDELIVERY in d.notes
    assert h.published == first + first


def at_rest(state: PaymentState | None, event: Input, source: Source) -> Decision:
    """`decide` with no call in flight, at T0, under the default policy."""
    return decide(state, event, source, payment_id=PID, now=T0, in_flight=False, policy=Policy())


def test_a_redelivered_input_does_not_republish_a_status_a_later_one_superseded() -> None:
    """kill -9 after the create outcome's state reached the changelog but its PENDING status did
    not: the restarted worker applies the final webhook, then reads the decline again."""
    declined = at_rest(None, decline(), Source("declines", 7))
    assert declined.state is not None
    assert declined.call is not None
    outcome = CallOutcome(declined.call.op_id, OpKind.CREATE, payment=PaymentSnapshot("pm_1", P.PENDING, T0))
    pending = at_rest(declined.state, outcome, Source("declines", 7, follow_up=True))
    assert pending.state is not None
    webhook = Webhook("evt_1", PaymentSnapshot("pm_1", P.FAILED, T0 + timedelta(seconds=1)))
    final = at_rest(pending.state, webhook, Source("webhooks", 3))
    assert final.state is not None
    assert [e.status for e in final.statuses] == [P.FAILED]

    again = at_rest(final.state, decline(), Source("declines", 7))

    assert Note.REDELIVERY in again.notes
    assert again.statuses == ()  # PENDING would follow FAILED on the topic under its own eventId
    # the webhook read again still re-publishes its FAILED: nothing came after it
    replayed = at_rest(final.state, webhook, Source("webhooks", 3))
    assert [e.status for e in replayed.statuses] == [P.FAILED]


def test_an_outcome_for_another_operation_is_stale() -> None:
    h = Harness()
    h.feed(decline())
    d = h.feed(CallOutcome("void-9", OpKind.VOID, payment=PaymentSnapshot("pm_1", P.VOIDED, T0)), "effects")
    assert Note.OUTCOME_STALE in d.notes
    assert d.state is None


def test_an_outcome_applied_for_its_decline_is_no_redelivery_and_is_replayed_with_it() -> None:
    declined = decide(
        None, decline(), Source("declines", 7), payment_id=PID, now=T0, in_flight=False, policy=Policy()
    )
    assert declined.state is not None
    assert declined.call is not None
    snapshot = PaymentSnapshot("pm_1", P.PENDING, T0)
    outcome = CallOutcome(declined.call.op_id, OpKind.CREATE, payment=snapshot)
    follow_up = Source("declines", 7, follow_up=True)

    applied = decide(
        declined.state, outcome, follow_up, payment_id=PID, now=T0, in_flight=False, policy=Policy()
    )

    assert Note.REDELIVERY not in applied.notes
    assert [e.status for e in applied.statuses] == [P.PENDING]
    assert applied.state is not None
    assert applied.state.operation is None
    # the decline read again after a crash re-publishes the PENDING its call's outcome caused
    again = decide(
        applied.state,
        decline(),
        Source("declines", 7),
        payment_id=PID,
        now=T0,
        in_flight=False,
        policy=Policy(),
    )
    assert Note.REDELIVERY in again.notes
    assert again.statuses == applied.statuses
    assert again.call is None


def test_a_rejected_create_is_dead_lettered_and_never_retried() -> None:
    state = PaymentState(PID).next_operation(OpKind.CREATE, T0)
    assert state.operation is not None
    outcome = CallOutcome(state.operation.op_id, OpKind.CREATE, rejected_status=400, reason="source.storeId")
    d = decide(state, outcome, Source("effects", 0), payment_id=PID, now=T0, in_flight=False, policy=Policy())
    assert d.dead_letter is not None
    assert "HTTP 400" in d.dead_letter
    assert d.state is not None
    assert d.state.rejected == "HTTP 400"


def test_reconciliation_queries_a_long_pending_payment_and_redrives_an_orphaned_void() -> None:
    h = Harness()
    h.feed(decline())
    h.drain()
    h.now = T0 + timedelta(hours=2)
    d = h.feed(Reconcile(h.now), "effects")
    assert d.call is not None
    assert d.call.kind is OpKind.QUERY
    h.drain()
    assert h.status is P.PENDING
    assert h.state is not None
    assert h.state.operation is None

    h.feed(stop())
    h.crash()  # the void call dies with the worker
    h.now += timedelta(hours=1)
    d = h.feed(Reconcile(h.now), "effects")
    assert d.call is not None
    assert d.call.kind is OpKind.VOID
    assert Note.REDRIVE in d.notes


def test_a_payment_pending_past_the_recovery_window_is_reported_stuck() -> None:
    h = Harness()
    h.feed(decline())
    h.drain()
    h.now = T0 + timedelta(days=15)
    assert Note.STUCK in h.feed(Reconcile(h.now), "effects").notes


@pytest.mark.parametrize(
    ("current", "incoming", "expected"),
    [
        (None, P.PENDING, Ordering.FORWARD),
        (P.PENDING, P.CAPTURED, Ordering.FORWARD),
        (P.AUTHORIZED, P.REFUNDED, Ordering.FORWARD),
        (P.CAPTURED, P.AUTHORIZED, Ordering.STALE),
        (P.VOIDED, P.PENDING, Ordering.STALE),
        (P.CAPTURED, P.CAPTURED, Ordering.SAME),
        (P.CAPTURED, P.VOIDED, Ordering.CONFLICT),
        (P.AUTHORIZED, P.FAILED, Ordering.CONFLICT),
        (P.FAILED, P.VOIDED, Ordering.CONFLICT),
    ],
)
def test_lifecycle_order(current: PaymentStatus | None, incoming: PaymentStatus, expected: Ordering) -> None:
    assert compare(current, incoming) is expected


def test_state_round_trips_through_bytes_without_card_data() -> None:
    h = Harness()
    h.feed(decline())
    h.feed(stop(StopKind.SETTLED_ELSEWHERE, double_charge=True))
    h.drain()
    assert h.state is not None
    raw = h.state.to_bytes()
    assert PaymentState.from_bytes(raw) == h.state
    assert h.state.history[0].cause is StatusCause.CREATE_RESPONSE
    assert b"4444" not in raw
    assert b"card" not in raw.lower()


def test_a_webhook_for_a_payment_we_never_sent_is_a_conflict_and_stores_nothing() -> None:
    d = decide(
        None,
        Webhook("evt-z", PaymentSnapshot("pm_9", P.AUTHORIZED, T0)),
        Source("webhooks", 0),
        payment_id="unknown",
        now=T0,
        in_flight=False,
        policy=Policy(),
    )
    assert d.conflict is not None
    assert "never sent" in d.conflict
    assert d.state is None


def test_a_conflict_is_counted_with_both_statuses() -> None:
    h = Harness(paymend=ModelPaymend(outcome=P.CAPTURED))
    h.feed(decline())
    h.drain()
    before = h.state
    d = h.feed(Webhook("evt-x", PaymentSnapshot("pm_1", P.VOIDED, T0)), "webhooks")
    registry = CollectorRegistry()
    assert before is not None
    record_decision(Metrics(registry), before, h.state or before, d)
    labels = {"from_status": "CAPTURED", "to_status": "VOIDED"}
    assert registry.get_sample_value("paymend_streams_conflicts_total", labels) == 1
