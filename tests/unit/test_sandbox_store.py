"""Sandbox store waiters and PENDING timers (on an event loop, no server)."""

import asyncio

import pytest

from streams.sandbox.cards import Outcome, OutcomeKind
from streams.sandbox.lifecycle import PendingPlan, PendingScheduler
from streams.sandbox.model import Payment, Status
from streams.sandbox.store import PaymentStore


def payment(payment_id: str = "pay_1", reference: str = "R1") -> Payment:
    return Payment(
        payment_id=payment_id,
        merchant_reference=reference,
        amount=100,
        currency="EUR",
        capture_now=False,
        goods_type="DIGITAL",
        card={},
        echoed={},
        outcome=Outcome(OutcomeKind.PENDING_APPROVE),
        status=Status.PENDING,
        created_at="t",
        updated_at="t",
    )


async def test_waiters_wake_on_the_matching_change() -> None:
    store = PaymentStore()
    stored = payment()
    store.add(stored)
    waiter = asyncio.ensure_future(store.wait_for_status("pay_1", Status.AUTHORIZED))
    await asyncio.sleep(0)  # let the waiter register
    stored.status = Status.FAILED
    store.changed(stored)
    assert not waiter.done()
    stored.status = Status.AUTHORIZED
    store.changed(stored)
    assert (await waiter) is stored
    assert await store.wait_for_status("pay_1", "AUTHORIZED") is stored  # already true: at once


async def test_waiting_times_out_and_leaves_nothing_behind() -> None:
    store = PaymentStore()
    with pytest.raises(TimeoutError):
        await store.wait_for_status("pay_missing", Status.AUTHORIZED, timeout_s=0.01)
    store.add(payment("pay_missing"))  # a late change finds only a cancelled waiter
    store.clear()
    assert len(store) == 0
    assert store.by_reference("R1") is None


async def test_store_indexes_references_and_counts_creates() -> None:
    store = PaymentStore()
    store.add(payment("pay_1", "R1"))
    store.count_create("R1")
    store.count_create("R1")
    found = store.by_reference("R1")
    assert found is not None
    assert found.payment_id == "pay_1"
    assert store.create_requests("R1") == 2
    assert store.create_requests("R2") == 0
    assert store.counts_by_status() == {"PENDING": 1}


async def test_scheduler_fires_pops_and_cancels() -> None:
    fired: asyncio.Queue[tuple[str, PendingPlan]] = asyncio.Queue()
    scheduler = PendingScheduler(lambda pid, plan: fired.put_nowait((pid, plan)))
    soon = PendingPlan(1.0, True, None)
    later = PendingPlan(60_000.0, False, None)
    scheduler.schedule("a", soon)
    scheduler.schedule("b", later)
    scheduler.schedule("c", later)
    assert await asyncio.wait_for(fired.get(), 5) == ("a", soon)
    assert scheduler.pop("b") == later
    assert scheduler.pop("b") is None
    assert len(scheduler) == 1
    scheduler.cancel_all()
    assert len(scheduler) == 0
    assert fired.empty()
