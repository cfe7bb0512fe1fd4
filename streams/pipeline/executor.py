"""Paymend calls in flight: concurrent across payments, one per payment, never lost.

`CallExecutor.submit` starts a call in its own task (at most `PIPELINE_MAX_IN_FLIGHT` at once:
a full executor makes the agent wait, which is backpressure) and returns at once, so the agent
goes on with other payments' events while Paymend takes tens or hundreds of milliseconds.

Failure policy of a call:
- a definite answer (success, or a 4xx refusal) becomes a `CallOutcome`, handed to the `settle`
  function the call was submitted with. `settle` applies it to the payment's state (the agent's
  `Processor` does that in this task, see its docstring) and returns the follow-up call the
  outcome requires (a void after a create that a cancel overtook, say) or None when the chain is
  done. A follow-up runs in the same task and slot, so a chain never waits for a slot it holds.
- Paymend unavailable (the client's own retries exhausted) or an unreadable answer: the call is
  tried again, with capped exponential backoff and jitter, for as long as it takes. The input stays
  unacknowledged meanwhile; if the worker stops or loses the partition, the task is cancelled and
  the next owner sees the input again and re-drives the call with the same `merchantReference`.
- anything unexpected crashes the worker (after logging), rather than losing the input.

`in_flight(payment_id)` is what the decision core is told; `settle` keeps it true to the state
with `hand_over` (the follow-up's op, or nothing), synchronously with the state write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Protocol

from schemas.enums import PaymentStatus
from schemas.merchant import DeclineEvent
from streams.paymend.errors import PaymendProtocolError, PaymendRejected, PaymendUnavailable
from streams.paymend.port import PaymendPort
from streams.paymend.responses import PaymentResponse
from streams.pipeline.create_request import build_create_request
from streams.pipeline.decision import Call
from streams.pipeline.inputs import CallOutcome, PaymentSnapshot
from streams.pipeline.state import OpKind

__all__ = ["CallExecutor", "Settle"]

logger = logging.getLogger(__name__)


class Settle(Protocol):
    """Applies a call's outcome; returns the follow-up call, or None once the chain is done."""

    async def __call__(self, outcome: CallOutcome, /) -> Call | None: ...


class CallExecutor:
    def __init__(
        self,
        paymend: Callable[[], PaymendPort],
        *,
        max_in_flight: int,
        capture_now: bool,
        crash: Callable[[BaseException], Awaitable[None]],
        track: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
        retry_base_s: float = 1.0,
        retry_max_s: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._paymend = paymend
        self._slots = asyncio.Semaphore(max_in_flight)
        self._capture_now = capture_now
        self._crash = crash
        self._track = track
        self._retry_base_s = retry_base_s
        self._retry_max_s = retry_max_s
        self._sleep = sleep
        self._in_flight: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def in_flight(self, payment_id: str) -> bool:
        return payment_id in self._in_flight

    @property
    def running(self) -> int:
        return len(self._in_flight)

    def hand_over(self, payment_id: str, follow_up: Call | None) -> None:
        """The payment's call in flight is now `follow_up` (None: no call in flight any more)."""
        if follow_up is None:
            self._in_flight.pop(payment_id, None)
        else:
            self._in_flight[payment_id] = follow_up.op_id

    async def submit(self, payment_id: str, call: Call, decline: DeclineEvent | None, settle: Settle) -> None:
        """Start `call`; its outcome goes to `settle` (see the module docstring). Waits for a slot."""
        if call.kind is OpKind.CREATE and decline is None:
            raise ValueError("a create needs the decline that carries the card")
        await self._slots.acquire()
        self._in_flight[payment_id] = call.op_id
        # The task starts with a copy of the caller's context: faust's current event (the record
        # that caused the call) stays current in it, which is where `settle` writes the table.
        task = asyncio.create_task(self._run(payment_id, call, decline, settle), name=f"paymend-{call.op_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Cancel every call in flight; their inputs stay unacknowledged and will be seen again."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, payment_id: str, call: Call, decline: DeclineEvent | None, settle: Settle) -> None:
        current: Call | None = call
        try:
            while current is not None:
                call = current
                if call.kind is OpKind.CREATE and decline is None:
                    raise ValueError("a create needs the decline that carries the card")
                outcome = await self._answer(payment_id, call, decline)
                current = await settle(outcome)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception(
                "call %s for payment %s failed unexpectedly; stopping the worker", call.op_id, payment_id
            )
            await self._crash(exc)
        finally:
            if self._in_flight.get(payment_id) == call.op_id:
                del self._in_flight[payment_id]
            self._slots.release()

    async def _answer(self, payment_id: str, call: Call, decline: DeclineEvent | None) -> CallOutcome:
        attempt = 0
        while True:
            try:
                with self._track():
                    response = await self._invoke(call, decline)
            except PaymendRejected as exc:
                return CallOutcome(call.op_id, call.kind, rejected_status=exc.status, reason=str(exc))
            except (PaymendUnavailable, PaymendProtocolError) as exc:
                attempt += 1
                delay = min(self._retry_max_s, self._retry_base_s * 2 ** min(attempt, 16)) * random.uniform(
                    0.5, 1
                )
                logger.warning(
                    "%s for payment %s: Paymend did not answer (%s); trying again in %.1f s (attempt %d)",
                    call.kind.value,
                    payment_id,
                    type(exc).__name__,
                    delay,
                    attempt,
                )
                await self._sleep(delay)
                continue
            return CallOutcome(call.op_id, call.kind, payment=_snapshot(response))

    async def _invoke(self, call: Call, decline: DeclineEvent | None) -> PaymentResponse:
        paymend = self._paymend()
        if call.kind is OpKind.CREATE:
            assert decline is not None
            request = build_create_request(decline, call.previous_failures, capture_now=self._capture_now)
            return await paymend.create_payment(request)
        if call.paymend_payment_id is None:
            raise ValueError(f"{call.kind.value} needs Paymend's payment ID")
        if call.kind is OpKind.VOID:
            return await paymend.void(call.paymend_payment_id)
        if call.kind is OpKind.REFUND:
            return await paymend.refund(call.paymend_payment_id)
        return await paymend.get_payment(call.paymend_payment_id)


def _snapshot(response: PaymentResponse) -> PaymentSnapshot:
    at = datetime.now(UTC)
    if response.updated_at:
        with contextlib.suppress(ValueError):
            at = datetime.fromisoformat(response.updated_at)
    failure = response.failure
    return PaymentSnapshot(
        response.payment_id,
        PaymentStatus(response.status.value),
        at,
        failure.failure_code if failure else None,
        failure.provider_failure_code if failure else None,
    )
