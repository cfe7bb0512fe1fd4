"""The periodic scan: find payments that need Paymend asked about them, and count the stuck ones.

Runs on every worker over the partitions it owns (a leader-only job would see only the leader's
own partitions of a partitioned table). It never changes state itself: for each payment that
`needs_attention`, it sends a `Reconcile` command to the effects topic keyed by the payment ID, and
the owning agent decides (query Paymend, re-drive an orphaned void or refund, report stuck).

The table can hold millions of payments, so the scan is bounded:

- Memory: rows are streamed, one at a time, never collected. On RocksDB (`_rows`) they are read
  with `fill_cache=False`, so a full scan does not evict the rows the agent reads from RocksDB's
  block cache (`ROCKSDB_BLOCK_CACHE_MB` per partition); other stores go through `table.items()`.
- CPU: a row is decoded only when it may matter. Most rows are settled payments with no call in
  flight and no stop request, which can neither need attention, nor be pending, nor be stuck;
  `_settled_at_rest` recognises them in the stored bytes (`PaymentState.to_bytes()`) without
  decoding (about 1 us against about 20 us). It skips a row only on positive evidence, so a
  change of the encoding makes the scan slower, never wrong (a unit test watches for that).
- The event loop: the scan gives the loop back every `_SLICE_S` of work, so the agent and the
  web server (webhooks, probes) keep running while it goes through a large table.
- Rebalances: the scan reads the partitions assigned when it started; it stops early (without
  updating the gauges) when a rebalance starts or the worker stops, and the next one starts over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from faust.types import TableT

from schemas.enums import PaymentStatus
from streams.pipeline.effects_codec import encode_reconcile
from streams.pipeline.inputs import Reconcile
from streams.pipeline.lifecycle import is_live
from streams.pipeline.policy import Policy
from streams.pipeline.state import PaymentState

if TYPE_CHECKING:
    from streams.app import Runtime

__all__ = ["is_stuck", "needs_attention", "register_reconciliation", "scan_rows"]

logger = logging.getLogger(__name__)

#: Longest stretch of scanning between two returns to the event loop.
_SLICE_S: Final = 0.005
#: Rows between two looks at the clock.
_CHECK_EVERY: Final = 128

#: A row is at rest when it holds one of these statuses (none is PENDING), no operation and no stop.
_SETTLED: Final = tuple(
    f'"status":"{status.value}"'.encode() for status in PaymentStatus if status is not PaymentStatus.PENDING
)
_NO_OPERATION: Final = b'"op":null'
_NO_STOP: Final = b'"stop":null'


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


def _settled_at_rest(raw: bytes) -> bool:
    """True only if the stored row is provably neither PENDING nor busy nor stopped (no decoding).

    Such a row cannot need attention (no operation, no stop, not PENDING), be pending or be stuck.
    """
    return _NO_OPERATION in raw and _NO_STOP in raw and any(status in raw for status in _SETTLED)


def _rows(table: TableT[bytes, bytes]) -> Iterator[tuple[bytes, bytes]]:
    """Every `(key, stored value)` of the partitions this worker owns, streamed.

    On faust's RocksDB store (rocksdict), straight from each partition's database with
    `fill_cache=False`, skipping faust's offset record; the list of databases is taken once, as a
    rebalance may change it while the scan waits. Elsewhere, `table.items()`.
    """
    store: Any = table.data
    if getattr(store, "use_rocksdict", False) and hasattr(store, "_dbs_for_actives"):
        import rocksdict

        options = rocksdict.ReadOptions()
        options.fill_cache(False)  # type: ignore[call-arg]  # rocksdict's stub leaves out the argument
        offset_key = store.offset_key
        for db in list(store._dbs_for_actives()):
            for key, value in db.items(read_opt=options):
                if key != offset_key:
                    yield key, value
        return
    yield from table.items()


class Scan:
    """What one pass found: payments PENDING and stuck, and commands sent."""

    __slots__ = ("complete", "pending", "rows", "sent", "stuck")

    def __init__(self) -> None:
        self.rows = self.pending = self.stuck = self.sent = 0
        self.complete = False


async def scan_rows(
    rows: Iterator[tuple[bytes, bytes]],
    *,
    now: datetime,
    policy: Policy,
    send: Callable[[bytes], Awaitable[None]],
    interrupted: Callable[[], bool] = lambda: False,
) -> Scan:
    """Go through `rows`, calling `await send(key)` for each payment that needs attention.

    Gives the event loop back every `_SLICE_S`; stops early (`complete` False) when
    `interrupted()` turns true at one of those points.
    """
    scan = Scan()
    slice_started = time.perf_counter()
    for index, (key, raw) in enumerate(rows):
        if index % _CHECK_EVERY == 0 and time.perf_counter() - slice_started > _SLICE_S:
            await asyncio.sleep(0)  # let the agent and the web server run
            if interrupted():
                return scan
            slice_started = time.perf_counter()
        scan.rows += 1
        if _settled_at_rest(raw):
            continue
        state = PaymentState.from_bytes(raw)
        scan.pending += state.status is PaymentStatus.PENDING
        scan.stuck += is_stuck(state, now, policy)
        if needs_attention(state, now, policy):
            await send(key)
            scan.sent += 1
    scan.complete = True
    return scan


def register_reconciliation(runtime: Runtime, table: TableT[bytes, bytes]) -> None:
    settings = runtime.settings
    policy = Policy.from_settings(settings)
    app = runtime.app

    async def scan() -> None:
        now = datetime.now(UTC)
        command = encode_reconcile(Reconcile(now))

        async def send(key: bytes) -> None:
            await runtime.topics.effects.send(key=key, value=command)

        started = time.perf_counter()
        try:
            result = await scan_rows(
                _rows(table),
                now=now,
                policy=policy,
                send=send,
                interrupted=lambda: bool(app.rebalancing or app.should_stop),
            )
        except Exception as exc:  # e.g. a partition's database went away with a rebalance
            logger.info("reconciliation scan abandoned: %s: %s", type(exc).__name__, exc)
            return
        if not result.complete:
            logger.info("reconciliation scan interrupted after %d rows (rebalance or stop)", result.rows)
            return
        runtime.metrics.set_payments_pending(result.pending)
        runtime.metrics.set_payments_stuck(result.stuck)
        logger.debug("reconciliation scan: %d rows in %.2f s", result.rows, time.perf_counter() - started)
        if result.stuck:
            logger.warning(
                "%d payments PENDING past the recovery window (%.0f s)",
                result.stuck,
                settings.recovery_window_s,
            )
        if result.sent:
            logger.info("reconciliation: %d payments to look at again", result.sent)

    runtime.app.timer(settings.reconcile_interval_s, name="paymend-streams-reconcile")(scan)
