"""The reconciliation scan (`streams.pipeline.reconcile`) without faust: what it counts and sends.

The scan skips rows it recognises as settled and at rest in their stored bytes; these tests pin
that the shortcut agrees with the full decode for every kind of row, and that it still recognises
`PaymentState.to_bytes()` output (else the scan silently becomes 20x slower), and that the scan
gives the loop back and stops when interrupted.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from schemas.enums import PaymentStatus, StatusCause
from streams.pipeline import reconcile
from streams.pipeline.policy import Policy
from streams.pipeline.reconcile import _settled_at_rest, is_stuck, needs_attention, scan_rows
from streams.pipeline.state import (
    DeclineInfo,
    Operation,
    OpKind,
    PaymentState,
    StatusEntry,
    StopKind,
    StopRequest,
)

NOW = datetime(2025, 11, 6, 12, 0, tzinfo=UTC)
POLICY = Policy(reconcile_after=timedelta(minutes=15), recovery_window=timedelta(days=14))


def state(
    status: PaymentStatus | None,
    *,
    age: timedelta = timedelta(minutes=1),
    operation: bool = False,
    stop: bool = False,
    pid: str = "PAY-1",
) -> PaymentState:
    since = NOW - age
    history = () if status is None else (StatusEntry(None, status, StatusCause.WEBHOOK, "webhooks:3", since),)
    return PaymentState(
        payment_id=pid,
        order_id="ORDER-1",
        amount=4999,
        currency="EUR",
        store_id="store_1",
        declines=(DeclineInfo("AcquirerX", "51", 1, since - timedelta(seconds=5)),),
        status=status,
        paymend_payment_id=None if status is None else "pay_abc",
        operation=Operation(OpKind.QUERY, "query-2", since) if operation else None,
        op_seq=2 if operation else 1,
        stop=StopRequest(StopKind.CANCELLED, since) if stop else None,
        seen_event_ids=("evt_1",),
        history=history,
        applied={"webhooks": 3},
        status_since=None if status is None else since,
    )


ALL_STATES = [
    state(status, age=age, operation=operation, stop=stop)
    for status, age, operation, stop in itertools.product(
        [None, *PaymentStatus],
        [timedelta(minutes=1), timedelta(hours=1), timedelta(days=20)],
        [False, True],
        [False, True],
    )
]


@pytest.mark.parametrize("status", [s for s in PaymentStatus if s is not PaymentStatus.PENDING])
def test_settled_rows_without_call_or_stop_are_recognised_in_their_bytes(status: PaymentStatus) -> None:
    assert _settled_at_rest(state(status, age=timedelta(days=30)).to_bytes())


@pytest.mark.parametrize(
    "row",
    [
        state(PaymentStatus.PENDING),
        state(None, operation=True),
        state(PaymentStatus.AUTHORIZED, operation=True),
        state(PaymentStatus.AUTHORIZED, stop=True),
        state(PaymentStatus.CAPTURED, stop=True),
    ],
)
def test_rows_that_may_matter_are_never_skipped(row: PaymentState) -> None:
    assert not _settled_at_rest(row.to_bytes())


@pytest.mark.parametrize("row", ALL_STATES)
def test_the_shortcut_only_skips_rows_the_full_decode_would_ignore(row: PaymentState) -> None:
    if _settled_at_rest(row.to_bytes()):
        assert not needs_attention(row, NOW, POLICY)
        assert not is_stuck(row, NOW, POLICY)
        assert row.status is not PaymentStatus.PENDING


def rows(states: list[PaymentState]) -> Iterator[tuple[bytes, bytes]]:
    for s in states:
        yield s.payment_id.encode(), s.to_bytes()


async def test_the_scan_counts_pending_and_stuck_and_sends_for_payments_needing_attention() -> None:
    table = [
        state(PaymentStatus.CAPTURED, age=timedelta(days=3), pid="settled"),
        state(PaymentStatus.PENDING, age=timedelta(minutes=1), pid="pending-fresh"),
        state(PaymentStatus.PENDING, age=timedelta(hours=1), pid="pending-old"),
        state(PaymentStatus.PENDING, age=timedelta(days=20), pid="pending-stuck"),
        state(PaymentStatus.AUTHORIZED, stop=True, pid="stop-to-void"),
        state(None, operation=True, age=timedelta(hours=1), pid="create-orphaned"),
    ]
    sent: list[bytes] = []

    async def send(key: bytes) -> None:
        sent.append(key)

    scan = await scan_rows(rows(table), now=NOW, policy=POLICY, send=send)

    assert scan.complete
    assert (scan.rows, scan.pending, scan.stuck, scan.sent) == (6, 3, 1, 4)
    assert sent == [b"pending-old", b"pending-stuck", b"stop-to-void", b"create-orphaned"]


async def test_the_scan_gives_the_loop_back_and_stops_when_interrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reconcile, "_SLICE_S", 0.0)
    monkeypatch.setattr(reconcile, "_CHECK_EVERY", 10)
    table = [state(PaymentStatus.CAPTURED, pid=f"p{i}") for i in range(100)]
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    async def send(key: bytes) -> None:
        raise AssertionError("nothing needs attention")

    task = asyncio.create_task(ticker())
    full = await scan_rows(rows(table), now=NOW, policy=POLICY, send=send)
    interrupted = await scan_rows(rows(table), now=NOW, policy=POLICY, send=send, interrupted=lambda: True)
    stop.set()
    await task

    assert full.complete
    assert full.rows == 100
    assert ticks >= 9  # the other task ran while the scan went on
    assert not interrupted.complete
    assert interrupted.rows < 100
