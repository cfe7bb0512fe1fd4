"""Paymend webhook events, as our endpoint writes them to the raw webhook topic.

Paymend documents only `eventId`, the event names and "details about the payment"
(paymend-api.md §4.17, §6). This contract assumes the envelope `{eventId, eventType, payment}`
with `payment` a PaymentResponse, and reads only the subset needed; everything else, at both
levels, is kept in `extra` (card data masked) and written back on encode, so a replay sees what
Paymend sent. Our endpoint adds `receivedAt` and `schemaVersion`: build the record with
`PaymendWebhookEvent.from_paymend_body(body, received_at)` and produce `event.encode()`.

Paymend's docs disagree with themselves (C7, C9, C10), so reading is lenient: status and event
type in any case, `amount` as an integer or digit string, timestamps without an offset read as
UTC, and failures in the new nested `failure{failureCode, providerFailureCode}` or the old
top-level `failureCode`/`failureMessage` (`WebhookPayment.resolved_failure()` merges them).
What we write is canonical (upper case, integers, RFC 3339), which is what the JSON Schema says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from .codec import json_loads
from .enums import PaymentStatus, WebhookEventType
from .errors import UndecodableError
from .fieldspec import unknown_fields, wire
from .parts import Failure, currency_wire, id_wire
from .record import ContractRecord, WireRecord

__all__ = ["PaymendWebhookEvent", "WebhookPayment"]


class WebhookPayment(WireRecord, namespace="paymend_streams.WebhookPayment"):
    """The part of Paymend's PaymentResponse a webhook event needs; other fields kept in `extra`."""

    paymend_payment_id: str = id_wire("paymentId", "Paymend's payment ID (up to 32 characters).")
    merchant_reference: str = id_wire("merchantReference", "Our paymentId, echoed by Paymend. Message key.")
    status: PaymentStatus = wire("status", "The payment's current status.", lenient=True)
    amount: int | None = wire("amount", "Amount in minor units.", default=None, minimum=0, lenient=True)
    currency: str | None = currency_wire("currency", "ISO 4217 currency code.", default=None)
    failure: Failure | None = wire(
        "failure", "Why the payment failed (newer format; only when FAILED).", default=None
    )
    failure_code: str | None = wire(
        "failureCode", "Paymend's failure code (older format; only when FAILED).", default=None, max_length=64
    )
    failure_message: str | None = wire(
        "failureMessage",
        "Human-readable failure explanation (older format; card numbers in it are masked).",
        default=None,
        max_length=2000,
        masked=True,
    )
    created_at: datetime | None = wire(
        "createdAt", "When the payment was created.", default=None, lenient=True
    )
    updated_at: datetime | None = wire(
        "updatedAt", "When the payment last changed.", default=None, lenient=True
    )
    extra: dict[str, Any] | None = unknown_fields()

    def resolved_failure(self) -> Failure | None:
        """The failure in either format; the nested object wins where both give a code."""
        nested = self.failure or Failure()
        code = nested.failure_code or self.failure_code
        if code is None and nested.provider_failure_code is None:
            return None
        return Failure(failure_code=code, provider_failure_code=nested.provider_failure_code)


class PaymendWebhookEvent(ContractRecord, namespace="paymend_streams.PaymendWebhookEvent"):
    """A Paymend webhook event as received, plus when our endpoint received it.

    Key: `payment.merchantReference` (our paymentId). Deduplicate on `eventId`.
    """

    event_id: str = id_wire("eventId", "Paymend's event ID, unique per event; the deduplication key.")
    event_type: WebhookEventType = wire("eventType", "What happened to the payment.", lenient=True)
    payment: WebhookPayment = wire("payment", "The payment, with its status when the event was sent.")
    received_at: datetime = wire("receivedAt", "When our endpoint received the event (set by us).")
    extra: dict[str, Any] | None = unknown_fields()

    @property
    def message_key(self) -> str:
        """The message key: our paymentId, echoed by Paymend as merchantReference."""
        return self.payment.merchant_reference

    @classmethod
    def from_paymend_body(cls, body: bytes | str, received_at: datetime) -> Self:
        """Validate a webhook body as Paymend sent it and stamp `receivedAt` (timezone-aware)."""
        try:
            data = json_loads(body)
        except ValueError:
            raise UndecodableError(cls.__name__, "is not UTF-8 JSON") from None
        if not isinstance(data, dict):
            raise UndecodableError(cls.__name__, "must be a JSON object")
        data["receivedAt"] = received_at.isoformat()
        data["schemaVersion"] = cls.SCHEMA_VERSION
        return cls.decode_mapping(data)
