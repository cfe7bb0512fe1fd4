"""Properties of the decision core over arbitrary interleavings (hypothesis).

Each example is a random schedule of: declines, a cancel or a paid-elsewhere (with or without a
double charge), Paymend answering our calls, Paymend's background recovery ending (in any of its
outcomes), webhooks delivered late, twice, out of order or never, worker crashes (calls in flight lost,
inputs redelivered). After the schedule the system settles (calls answered, webhooks delivered,
reconciliation run). Then:

- never a live payment (PENDING, AUTHORIZED) at Paymend after a stop;
- never a capture left unrefunded after a stop (the default policy refunds);
- a decline that came after the stop never reached Paymend;
- at most one Paymend payment per reference, and our state agrees with Paymend's;
- the published status events, deduplicated by event ID, only move forward.

`PIPELINE_PROPERTY_EXAMPLES` sets the number of examples (the reliability suite runs 10 000).
"""

from __future__ import annotations

import itertools
import os
import random
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.enums import PaymentStatus
from streams.pipeline.inputs import Reconcile, Webhook
from streams.pipeline.lifecycle import Ordering, compare
from streams.pipeline.state import StopKind
from tests.unit.pipeline_model import PID, Harness, ModelPaymend, decline, stop

P = PaymentStatus
EXAMPLES = int(os.environ.get("PIPELINE_PROPERTY_EXAMPLES", "400"))

actions = st.lists(
    st.sampled_from(
        [
            "decline",
            "cancel",
            "settled",
            "settled-double",
            "answer",
            "resolve",
            "deliver",
            "shuffle",
            "drop",
            "crash",
        ]
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    schedule=actions,
    outcome=st.sampled_from([P.PENDING, P.AUTHORIZED, P.CAPTURED, P.FAILED]),
    resolves_to=st.sampled_from([P.AUTHORIZED, P.CAPTURED, P.FAILED]),
    seed=st.integers(0, 2**16),
)
def test_no_live_payment_survives_a_stop(
    schedule: list[str], outcome: PaymentStatus, resolves_to: PaymentStatus, seed: int
) -> None:
    rng = random.Random(seed)
    h = Harness(paymend=ModelPaymend(outcome=outcome, resolves_to=resolves_to))
    attempts = 0
    stopped = False
    declined_before_stop = False
    for action in schedule:
        if action == "decline":
            attempts += 1
            declined_before_stop = declined_before_stop or not stopped
            h.feed(decline(attempts))
        elif action in ("cancel", "settled", "settled-double"):
            kind = StopKind.CANCELLED if action == "cancel" else StopKind.SETTLED_ELSEWHERE
            h.feed(stop(kind, double_charge=action == "settled-double"))
            stopped = True
        elif action == "answer":
            h.answer_next()
        elif action == "resolve":
            h.paymend.resolve(PID)
        elif action == "deliver":
            h.deliver_webhooks()
        elif action == "shuffle":  # out of order, some twice
            batch = list(h.paymend.webhooks)
            h.paymend.webhooks.clear()
            batch += rng.sample(batch, k=len(batch) // 2)
            rng.shuffle(batch)
            for snap in batch:
                h.feed(Webhook(f"evt-{snap.status.value}-{snap.paymend_payment_id}", snap), "webhooks")
        elif action == "drop":  # webhooks that never arrive: reconciliation must find out
            h.paymend.webhooks.clear()
        elif action == "crash":
            h.crash()
            for index in range(len(h.log)):  # everything not committed comes again
                h.replay(index)

    _settle(h)

    payment = h.paymend.payments.get(PID)
    assert len(h.paymend.payments) <= 1
    if stopped and not declined_before_stop:
        assert payment is None, "a decline after the stop reached Paymend"
    if payment is not None:
        assert h.status == payment.status, "our state disagrees with Paymend"
        if stopped:
            assert payment.status not in (P.PENDING, P.AUTHORIZED, P.CAPTURED), payment.status
    _assert_forward_only(h)


def _settle(h: Harness) -> None:
    """Let the system come to rest: answers, webhooks, and reconciliation for orphaned intents."""
    h.drain()
    for hours in (1, 2, 3):
        h.now = h.now + timedelta(hours=hours)
        for index in range(len(h.log)):
            h.replay(index)  # redelivery after the last crash re-drives a lost create
        h.drain()
        h.feed(Reconcile(h.now), "effects")
        h.drain()
        h.paymend.resolve(PID)
        h.drain()


def _assert_forward_only(h: Harness) -> None:
    seen: set[str] = set()
    chain: list[PaymentStatus] = []
    for event_id, status in h.published:
        if event_id not in seen:
            seen.add(event_id)
            chain.append(status)
    for before, after in itertools.pairwise(chain):
        assert compare(before, after) is Ordering.FORWARD, chain
