"""The stateful agent: read an event, decide, apply the decision. One per worker, `concurrency=1`.

One agent consumes every co-partitioned input (declines, cancels, paid-elsewhere, webhooks, and
the internal effects topic) keyed by payment ID, so a payment's events are decided one at a time,
in order, against its row of the `payments` table. Per event:

1. parse (`Intake`); bad input goes to the dead-letter topic with its reason and coordinates,
   and the event is acknowledged once the dead letter is confirmed by the broker;
2. `decide` (the pure core) against the stored state;
3. apply, in this order and without yielding in between: the new state to the table
   (changelogged), then the status events, dead letter and conflict records (queued to the
   producer in order, so a payment's status events reach the topic in the order decided); then
   the Paymend call, if any, is handed to the `CallExecutor` and runs concurrently with the
   following events (other payments' calls overlap; a payment never has two);
4. acknowledge the event only when everything it caused is durable: the records above confirmed
   by the broker and, for a call, the outcome applied the same way (step 3) and confirmed. Acks
   are manual (`stream.noack()`), and faust commits only the contiguous prefix of acknowledged
   offsets, so no offset is committed past an event whose effects are not yet durable.

A call's outcome is applied in the call's own task, with the record that caused the call as
faust's current event (the task inherits it): the table write lands on that record's partition,
which is the payment's partition, and read-decide-write runs without yielding, so it is atomic
with respect to the agent. If a rebalance started since the call was submitted, the partition may
belong to another worker by now: the outcome is then written to the effects topic instead and
applied there by whoever owns the payment (the same path a reconciliation command takes).
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
from streams.pipeline.decision import Call, Decision
from streams.pipeline.effects_codec import encode_outcome
from streams.pipeline.executor import CallExecutor, Settle
from streams.pipeline.inputs import CallOutcome, Decline, Input, Source
from streams.pipeline.intake import BadInput, Intake
from streams.pipeline.observe import record_decision
from streams.pipeline.orders import cancel_message, payment_message
from streams.pipeline.policy import Policy
from streams.pipeline.state import PaymentState, StatusEntry
from streams.pipeline.table_options import bytes_table

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
            max_in_flight=settings.pipeline_max_in_flight,
            capture_now=settings.paymend_capture_now,
            crash=self._crash,
            track=runtime.metrics.paymend_call_in_flight,
        )

    @property
    def topics(self) -> tuple[str, ...]:
        return self._intake.topics

    async def handle(self, stream: StreamT[Any], event: EventT[Any]) -> None:
        message = event.message
        topic, key, value = message.topic, message.key, message.value
        try:
            parsed = self._intake.parse(topic, key, value)
        except BadInput as exc:
            record = DeadLetter.from_failure(
                source_topic=topic,
                partition=message.partition,
                offset=message.offset,
                key=key,
                value=value,
                error=exc,
            )
            # The record's key and reason are masked (a fuzzed key or field may hold a card number);
            # the dead letter is keyed, and the line logged, with those, never with the raw input.
            masked_key = None if record.key is None else record.key.encode()
            await self._send_and_wait(self._runtime.topics.dead_letters, masked_key, record.encode())
            self._metrics.dead_letter(topic, type(exc).__name__)
            self._metrics.event_processed(topic, "dead_letter")
            logger.warning(
                "dead letter from %s[%d]@%d: %s", topic, message.partition, message.offset, record.reason
            )
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
        pending: list[Awaitable[Any]] = []
        decision = self._apply(
            payment_id,
            parsed.input,
            Source(topic, message.offset),
            event,
            in_flight=self.executor.in_flight(payment_id),
            pending=pending,
        )
        self._metrics.event_processed(topic, "ok")
        if decision.call is not None:
            settle = self._settler(stream, event, payment_id, pending)
            await self.executor.submit(payment_id, decision.call, parsed.decline, settle)
        else:
            self._spawn(self._acknowledge(stream, event, pending))

    def _apply(
        self,
        payment_id: str,
        core_input: Input,
        source: Source,
        event: EventT[Any],
        *,
        in_flight: bool,
        pending: list[Awaitable[Any]],
    ) -> Decision:
        """Decide `core_input` and write what it decided; never yields (atomic for the agent).

        The table is written for faust's current event, which must be `event` (or a record of the
        same partition); the records it queues are appended to `pending`.
        """
        row_key = payment_id.encode()
        raw = self._table.get(row_key)
        before = PaymentState.from_bytes(raw) if raw is not None else None
        decision = decide(
            before,
            core_input,
            source,
            payment_id=payment_id,
            now=datetime.now(UTC),
            in_flight=in_flight,
            policy=self._policy,
        )
        if decision.state is not None:
            self._table[row_key] = decision.state.to_bytes()
        after = decision.state or before or PaymentState(payment_id)

        topics = self._runtime.topics
        if isinstance(core_input, Decline) and not (before and before.declines):
            order_key = core_input.order_id.encode()  # so an order-only cancel can find the payment
            pending.append(topics.order_index.send_soon(key=order_key, value=payment_message(payment_id)))
        for entry in decision.statuses:
            pending.append(topics.status.send_soon(key=row_key, value=_status_event(after, entry).encode()))
        if decision.dead_letter is not None:
            letter = self._letter(event, BadInput(decision.dead_letter))
            pending.append(topics.dead_letters.send_soon(key=row_key, value=letter))
            self._metrics.dead_letter(event.message.topic, BadInput.__name__)
            logger.warning("dead letter for payment %s: %s", payment_id, decision.dead_letter)
        if decision.conflict is not None:
            letter = self._letter(event, Conflict(decision.conflict))
            pending.append(topics.conflicts.send_soon(key=row_key, value=letter))
            logger.warning("conflict for payment %s: %s", payment_id, decision.conflict)
        record_decision(self._metrics, before, after, decision)
        return decision

    def _settler(
        self, stream: StreamT[Any], event: EventT[Any], payment_id: str, pending: list[Awaitable[Any]]
    ) -> Settle:
        """What the executor calls with each outcome of the call chain that `event` started."""
        app = self._runtime.app
        generation = app.rebalancing_count
        source = Source(event.message.topic, event.message.offset, follow_up=True)

        # `settle` holds `event` strongly: faust keeps the current event as a weak reference, and
        # the call's task (which inherited it) writes the table in its name.
        async def settle(outcome: CallOutcome) -> Call | None:
            if app.rebalancing or app.rebalancing_count != generation:
                # The partition may have moved: let its owner apply the outcome.
                self.executor.hand_over(payment_id, None)
                await self._send_and_wait(
                    self._runtime.topics.effects, payment_id.encode(), encode_outcome(outcome)
                )
                await self._acknowledge(stream, event, pending)
                return None
            decision = self._apply(payment_id, outcome, source, event, in_flight=False, pending=pending)
            self.executor.hand_over(payment_id, decision.call)
            if decision.call is None:
                await self._acknowledge(stream, event, pending)
            return decision.call

        return settle

    @staticmethod
    async def _acknowledge(stream: StreamT[Any], event: EventT[Any], pending: list[Awaitable[Any]]) -> None:
        if pending:
            await asyncio.gather(*pending)
        await stream.ack(event)

    @staticmethod
    def _letter(event: EventT[Any], error: Exception) -> bytes:
        message = event.message
        return DeadLetter.from_failure(
            source_topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
            error=error,
        ).encode()

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
    table = bytes_table(app, TABLE_NAME, settings)
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
