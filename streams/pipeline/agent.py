"""The stateful agent: read an event, decide, apply the decision. One per worker, `concurrency=1`.

One agent consumes every co-partitioned input (declines, cancels, paid-elsewhere, webhooks, and
the internal effects topic) keyed by payment ID, so a payment's events are decided one at a time,
in order, against its row of the `payments` table. Per event:

1. parse (`Intake`); bad input goes to the dead-letter topic with its reason and coordinates,
   and the event is acknowledged once the dead letter is confirmed by the broker;
2. `decide` (the pure core) against the stored state;
3. apply, in this order: the new state to the table (changelogged), the status events, dead
   letter and conflict records; then the Paymend call, if any, is handed to the `CallExecutor`
   and runs concurrently with the following events (other payments' calls overlap; a payment
   never has two);
4. acknowledge the event only when everything it caused is durable: the records above confirmed
   by the broker and, for a call, its outcome written to the effects topic. Acks are manual
   (`stream.noack()`), and faust commits only the contiguous prefix of acknowledged offsets, so no
   offset is committed past an event whose effects are not yet durable.

The table is written only here, inside stream iteration (faust's rule). A call's outcome comes
back as an effects message and is applied like any other event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import faust
from faust.types import EventT, StreamT, TableT

from schemas.dead_letter import DeadLetter
from schemas.status import PaymentStatusChanged
from streams.pipeline.decide import decide
from streams.pipeline.executor import CallExecutor
from streams.pipeline.inputs import Source
from streams.pipeline.intake import BadInput, Intake
from streams.pipeline.observe import record_decision
from streams.pipeline.orders import cancel_message, payment_message
from streams.pipeline.policy import Policy
from streams.pipeline.state import PaymentState, StatusEntry

if TYPE_CHECKING:
    from streams.app import Runtime

__all__ = ["AGENT_NAME", "TABLE_NAME", "Conflict", "Processor"]

logger = logging.getLogger(__name__)

TABLE_NAME = "payments"
AGENT_NAME = "paymend-streams-pipeline"


class Conflict(Exception):
    """An impossible or contradictory report about a payment (written to the conflict topic)."""


class Processor:
    """Everything the agent does for one event; holds the executor of Paymend calls."""

    def __init__(self, runtime: Runtime, table: TableT[bytes, bytes]) -> None:
        settings = runtime.settings
        self._runtime = runtime
        self._table = table
        self._intake = Intake(settings)
        self._policy = Policy.from_settings(settings)
        self._metrics = runtime.metrics
        self._acks: set[asyncio.Task[None]] = set()
        self.executor = CallExecutor(
            runtime.require_paymend,
            self._write_effect,
            max_in_flight=settings.pipeline_max_in_flight,
            capture_now=settings.paymend_capture_now,
            crash=self._crash,
        )

    @property
    def topics(self) -> tuple[str, ...]:
        return self._intake.topics

    async def handle(self, stream: StreamT[Any], event: EventT[Any]) -> None:
        message = event.message
        topic, partition, offset = message.topic, message.partition, message.offset
        key, value = message.key, message.value
        try:
            parsed = self._intake.parse(topic, key, value)
        except BadInput as exc:
            record = DeadLetter.from_failure(
                source_topic=topic, partition=partition, offset=offset, key=key, value=value, error=exc
            )
            await self._send_and_wait(self._runtime.topics.dead_letters, key, record.encode())
            self._metrics.dead_letter(topic, type(exc).__name__)
            self._metrics.event_processed(topic, "dead_letter")
            logger.warning("dead letter from %s[%d]@%d: %s", topic, partition, offset, exc)
            await stream.ack(event)
            return

        topics = self._runtime.topics
        if parsed.by_order is not None:
            # A cancel that names only its order: the order router finds its payments.
            await self._send_and_wait(topics.order_index, key, cancel_message(parsed.by_order))
            self._metrics.event_processed(topic, "routed_by_order")
            await stream.ack(event)
            return

        assert parsed.input is not None  # Intake sets exactly one of `input` and `by_order`
        payment_id = parsed.payment_id
        row_key = payment_id.encode()
        raw = self._table.get(row_key)
        before = PaymentState.from_bytes(raw) if raw is not None else None
        decision = decide(
            before,
            parsed.input,
            Source(topic, offset),
            payment_id=payment_id,
            now=datetime.now(UTC),
            in_flight=self.executor.in_flight(payment_id),
            policy=self._policy,
        )
        if decision.state is not None:
            self._table[row_key] = decision.state.to_bytes()
        after = decision.state or before or PaymentState(payment_id)

        pending: list[Awaitable[Any]] = []
        if parsed.decline is not None and not (before and before.declines):
            order_key = parsed.decline.order_id.encode()  # so an order-only cancel can find it
            pending.append(await topics.order_index.send(key=order_key, value=payment_message(payment_id)))
        for entry in decision.statuses:
            status = _status_event(after, entry)
            pending.append(await topics.status.send(key=row_key, value=status.encode()))

        def letter(error: Exception) -> bytes:
            return DeadLetter.from_failure(
                source_topic=topic, partition=partition, offset=offset, key=key, value=value, error=error
            ).encode()

        if decision.dead_letter is not None:
            pending.append(
                await topics.dead_letters.send(key=row_key, value=letter(BadInput(decision.dead_letter)))
            )
            self._metrics.dead_letter(topic, BadInput.__name__)
            logger.warning("dead letter for payment %s: %s", payment_id, decision.dead_letter)
        if decision.conflict is not None:
            pending.append(
                await topics.conflicts.send(key=row_key, value=letter(Conflict(decision.conflict)))
            )
            logger.warning("conflict for payment %s: %s", payment_id, decision.conflict)
        record_decision(self._metrics, before, after, decision)
        self._metrics.event_processed(topic, "ok")

        async def acknowledge() -> None:
            if pending:
                await asyncio.gather(*pending)
            await stream.ack(event)

        if decision.call is not None:
            await self.executor.submit(payment_id, decision.call, parsed.decline, acknowledge)
        else:
            self._spawn(acknowledge())

    async def stop(self) -> None:
        await self.executor.stop()
        for task in list(self._acks):
            task.cancel()
        await asyncio.gather(*self._acks, return_exceptions=True)

    def _spawn(self, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.exception("a write the pipeline waited for failed; stopping the worker")
                await self._crash(exc)

        task = asyncio.create_task(guarded())
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def _write_effect(self, key: bytes, value: bytes) -> None:
        await self._send_and_wait(self._runtime.topics.effects, key, value)

    @staticmethod
    async def _send_and_wait(topic: faust.TopicT, key: bytes | None, value: bytes) -> None:
        fut = await topic.send(key=key, value=value)
        await fut

    async def _crash(self, exc: BaseException) -> None:
        await self._runtime.app.crash(exc)


def _status_event(state: PaymentState, entry: StatusEntry) -> PaymentStatusChanged:
    first = state.first_decline
    if state.amount is None or state.currency is None:
        raise ValueError(f"status event for {state.payment_id}, which was never declined")
    return PaymentStatusChanged.create(
        payment_id=state.payment_id,
        new_status=entry.status,
        cause=entry.cause,
        amount=state.amount,
        currency=state.currency,
        occurred_at=entry.occurred_at,
        previous_status=entry.previous,
        order_id=state.order_id,
        paymend_payment_id=state.paymend_payment_id,
        failure_code=entry.failure_code,
        provider_failure_code=entry.provider_failure_code,
        first_decline_code=first.code if first else None,
        store_id=state.store_id,
    )


def register_agent(runtime: Runtime) -> TableT[bytes, bytes]:
    """Register the `payments` table and the agent on `runtime.app`; returns the table."""
    app = runtime.app
    settings = runtime.settings
    # Keys and values are bytes, and the app's default serializers are raw: the changelog holds
    # the payment ID and `PaymentState.to_bytes()` as they are.
    table = app.Table(TABLE_NAME, key_type=bytes, value_type=bytes, partitions=settings.topic_partitions)
    intake = Intake(settings)
    source = app.topic(
        *intake.topics, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )

    async def pipeline(stream: StreamT[Any]) -> None:
        processor = Processor(runtime, table)
        manual = cast(faust.Stream[Any], stream).noack()  # StreamT does not declare noack()
        try:
            async for event in manual.events():
                await processor.handle(manual, event)
        finally:
            await processor.stop()

    app.agent(source, name=AGENT_NAME, concurrency=1)(pipeline)
    return table
