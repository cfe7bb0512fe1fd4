"""The periodic scan: find payments that need Paymend asked about them, and count the stuck ones.

Runs on every worker over the partitions it owns (a leader-only job would see only the leader's
own partitions of a partitioned table). It never changes state itself: for each payment that
`needs_attention`, it sends a `Reconcile` command to the effects topic keyed by the payment ID, and
the owning agent decides (query Paymend, re-drive an orphaned void or refund, report stuck).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from faust.types import TableT

from schemas.enums import PaymentStatus
from streams.pipeline.effects_codec import encode_reconcile
from streams.pipeline.inputs import Reconcile
from streams.pipeline.lifecycle import is_live
from streams.pipeline.policy import Policy
from streams.pipeline.state import PaymentState

if TYPE_CHECKING:
    from streams.app import Runtime

__all__ = ["needs_attention", "register_reconciliation"]

logger = logging.getLogger(__name__)

_YIELD_EVERY = 1000


def needs_attention(state: PaymentState, now: datetime, policy: Policy) -> bool:
    """True when the agent should look at this payment again (a cheap filter before `decide`)."""
    op = state.operation
    if op is not None:
        return now - op.started_at > policy.reconcile_after
    since = state.status_since
    if state.status is PaymentStatus.PENDING and since is not None and now - since > policy.reconcile_after:
        return True
    return state.stop is not None and is_live(state.status)


def is_stuck(state: PaymentState, now: datetime, policy: Policy) -> bool:
    since = state.status_since
    return (
        state.status is PaymentStatus.PENDING and since is not None and now - since > policy.recovery_window
    )


def register_reconciliation(runtime: Runtime, table: TableT[bytes, bytes]) -> None:
    settings = runtime.settings
    policy = Policy.from_settings(settings)

    async def scan() -> None:
        now = datetime.now(UTC)
        command = encode_reconcile(Reconcile(now))
        pending = stuck = sent = 0
        for index, (key, raw) in enumerate(list(table.items())):
            if index % _YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the agent and the web server run during a long scan
            state = PaymentState.from_bytes(raw)
            pending += state.status is PaymentStatus.PENDING
            stuck += is_stuck(state, now, policy)
            if needs_attention(state, now, policy):
                await runtime.topics.effects.send(key=key, value=command)
                sent += 1
        runtime.metrics.set_payments_pending(pending)
        runtime.metrics.set_payments_stuck(stuck)
        if stuck:
            logger.warning(
                "%d payments PENDING past the recovery window (%.0f s)", stuck, settings.recovery_window_s
            )
        if sent:
            logger.info("reconciliation: %d payments to look at again", sent)

    runtime.app.timer(settings.reconcile_interval_s, name="paymend-streams-reconcile")(scan)
