"""From a Kafka record to a core input: decode, validate, check the key, drop the card.

`Intake.parse(topic, key, value)` returns `Parsed` (the payment ID, the core input and, for a
decline only, the `DeclineEvent` whose card the create call needs) or raises `BadInput` with a
reason for the dead-letter topic. The key must be the payment ID the record names: a record keyed
otherwise sits on another partition than its payment's state (co-partitioning), so it is refused
rather than joined with nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.errors import SchemaError
from schemas.merchant import DeclineEvent, OrderCancelled, PaymentSettledElsewhere
from schemas.paymend import PaymendWebhookEvent
from streams.pipeline.effects_codec import EffectsMessageError, decode_effect
from streams.pipeline.inputs import Decline, Input, PaymentSnapshot, Stop, Webhook
from streams.pipeline.state import DeclineInfo, StopKind
from streams.settings import Settings

__all__ = ["BadInput", "Intake", "Parsed"]


class BadInput(ValueError):
    """A record the pipeline cannot use; the message is the dead letter's reason (no card data)."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """`payment_id` is the record's routing key: the order ID when `by_order` is set."""

    payment_id: str
    input: Input | None
    decline: DeclineEvent | None = None
    by_order: OrderCancelled | None = None  # a cancel naming only its order: route it first


class Intake:
    def __init__(self, settings: Settings) -> None:
        self._parsers = {
            settings.topic_declines: self._decline,
            settings.topic_order_cancelled: self._cancel,
            settings.topic_settled_elsewhere: self._settled,
            settings.topic_webhooks: self._webhook,
            settings.topic_effects: self._effect,
        }

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(self._parsers)

    def parse(self, topic: str, key: bytes | None, value: bytes | None) -> Parsed:
        try:
            parser = self._parsers[topic]
        except KeyError:
            raise BadInput(f"no parser for topic {topic!r}") from None
        if value is None:
            raise BadInput("record has no value (tombstone)")
        text_key = _key(key)
        try:
            parsed = parser(text_key, value)
        except (SchemaError, EffectsMessageError) as exc:
            raise BadInput(str(exc)) from None
        if parsed.payment_id != text_key:
            which = "order ID" if parsed.by_order is not None else "payment ID"
            raise BadInput(
                f"record key {text_key!r} is not its {which} {parsed.payment_id!r}: it would not "
                f"meet the state it belongs with (co-partitioning); produce it keyed by the {which}"
            )
        return parsed

    @staticmethod
    def _decline(key: str, value: bytes) -> Parsed:
        e = DeclineEvent.decode(value)
        info = DeclineInfo(e.provider, e.provider_failure_code, e.attempt_number, e.occurred_at)
        decline = Decline(e.payment_id, e.order_id, e.amount, e.currency, e.store_id, info)
        return Parsed(e.payment_id, decline, e)

    @staticmethod
    def _cancel(key: str, value: bytes) -> Parsed:
        event = OrderCancelled.decode(value)
        if event.payment_id is None:
            return Parsed(event.order_id, None, by_order=event)  # keyed by its order ID
        return Parsed(event.payment_id, Stop(event.payment_id, StopKind.CANCELLED, event.occurred_at))

    @staticmethod
    def _settled(key: str, value: bytes) -> Parsed:
        e = PaymentSettledElsewhere.decode(value)
        stop = Stop(e.payment_id, StopKind.SETTLED_ELSEWHERE, e.occurred_at, bool(e.double_charge))
        return Parsed(e.payment_id, stop)

    @staticmethod
    def _webhook(key: str, value: bytes) -> Parsed:
        event = PaymendWebhookEvent.decode(value)
        payment = event.payment
        failure = payment.resolved_failure()
        snapshot = PaymentSnapshot(
            payment.paymend_payment_id,
            payment.status,
            payment.updated_at or event.received_at,
            failure.failure_code if failure else None,
            failure.provider_failure_code if failure else None,
        )
        return Parsed(payment.merchant_reference, Webhook(event.event_id, snapshot))

    @staticmethod
    def _effect(key: str, value: bytes) -> Parsed:
        return Parsed(key, decode_effect(value))


def _key(key: bytes | None) -> str:
    if not key:
        raise BadInput("record has no key: every topic is keyed by the payment ID")
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("record key is not UTF-8") from None
