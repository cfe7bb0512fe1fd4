"""`PaymentStatusChanged`: the downstream contract analytics teams build on.

One event per status a recovery reaches, keyed by the merchant's payment ID. It never holds card
data. `eventId` is deterministic, so replays and duplicates (at-least-once delivery) carry the same
ID and consumers deduplicate on it:

    eventId = UUIDv5(STATUS_EVENT_NAMESPACE, paymentId + "\\n" + (paymendPaymentId or "") + "\\n" + newStatus)

Statuses only move forward (paymend-api.md §5), so a (payment, Paymend payment, status) triple
happens once; the cause is deliberately not part of the ID, so the same transition reported
by, say, the create response and a webhook cannot count twice. A new Paymend payment for the same
merchant payment (retry after FAILED) has another paymendPaymentId and so new IDs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Final, Self

from .enums import PaymentStatus, StatusCause
from .fieldspec import wire
from .parts import currency_wire, id_wire
from .record import ContractRecord

__all__ = ["STATUS_EVENT_NAMESPACE", "PaymentStatusChanged", "status_event_id"]

#: UUIDv5 namespace of status event IDs.
#: (It is itself uuid5(NAMESPACE_URL, "urn:paymend-streams:PaymentStatusChanged").)
STATUS_EVENT_NAMESPACE: Final = uuid.UUID("06903ebe-700b-50d0-9ecc-dd89935445e1")

_UUID_PATTERN: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def status_event_id(payment_id: str, new_status: PaymentStatus, paymend_payment_id: str | None = None) -> str:
    """The deterministic event ID (see the module doc); IDs cannot contain the newline separator."""
    name = f"{payment_id}\n{paymend_payment_id or ''}\n{PaymentStatus(new_status).value}"
    return str(uuid.uuid5(STATUS_EVENT_NAMESPACE, name))


class PaymentStatusChanged(ContractRecord, namespace="paymend_streams.PaymentStatusChanged"):
    """A recovery's payment reached a new status. Key: `paymentId`. No card data.

    `recovered` is true exactly when `newStatus` is AUTHORIZED or CAPTURED. Build with
    `PaymentStatusChanged.create(...)`, which derives `eventId` and `recovered`.
    """

    event_id: str = wire(
        "eventId",
        f"Deterministic ID, the deduplication key: UUIDv5 in namespace {STATUS_EVENT_NAMESPACE} of "
        "paymentId, paymendPaymentId (empty if absent) and newStatus joined by newlines.",
        pattern=_UUID_PATTERN,
        hint="a lower-case UUID",
    )
    payment_id: str = id_wire(
        "paymentId", "The merchant's payment ID (Paymend merchantReference). Message key."
    )
    order_id: str | None = id_wire("orderId", "The merchant's order ID.", default=None)
    paymend_payment_id: str | None = id_wire("paymendPaymentId", "Paymend's payment ID.", default=None)
    previous_status: PaymentStatus | None = wire(
        "previousStatus", "The status before this change; absent for the first status.", default=None
    )
    new_status: PaymentStatus = wire("newStatus", "The status the payment reached.")
    amount: int = wire("amount", "Amount in minor units, at least 1.", minimum=1)
    currency: str = currency_wire("currency", "ISO 4217 currency code.")
    failure_code: str | None = wire(
        "failureCode", "Paymend's failure code, when newStatus is FAILED.", default=None, max_length=64
    )
    provider_failure_code: str | None = wire(
        "providerFailureCode",
        "The provider's failure code from Paymend, when FAILED.",
        default=None,
        max_length=64,
    )
    first_decline_code: str | None = wire(
        "firstDeclineCode",
        "providerFailureCode of the merchant's first decline, the one that started the recovery.",
        default=None,
        max_length=64,
    )
    store_id: str | None = id_wire("storeId", "The Paymend store ID.", default=None)
    occurred_at: datetime = wire(
        "occurredAt", "When the status changed (as reported, else when we learnt it)."
    )
    recovered: bool = wire("recovered", "True exactly when newStatus is AUTHORIZED or CAPTURED.")
    cause: StatusCause = wire("cause", "What made us learn of the change.")

    def _invariants(self) -> Iterable[tuple[str, str]]:
        if self.recovered != PaymentStatus(self.new_status).recovered:
            yield "recovered", "must be true exactly when newStatus is AUTHORIZED or CAPTURED"
        if self.previous_status is not None and self.previous_status == self.new_status:
            yield "previousStatus", "must differ from newStatus"

    @classmethod
    def json_schema_rules(cls) -> list[dict[str, object]]:
        """The `recovered` rule of `_invariants`, for the JSON Schema export."""
        return [
            {
                "if": {"properties": {"newStatus": {"enum": ["AUTHORIZED", "CAPTURED"]}}},
                "then": {"properties": {"recovered": {"const": True}}},
                "else": {"properties": {"recovered": {"const": False}}},
            }
        ]

    @classmethod
    def create(
        cls,
        *,
        payment_id: str,
        new_status: PaymentStatus,
        cause: StatusCause,
        amount: int,
        currency: str,
        occurred_at: datetime,
        previous_status: PaymentStatus | None = None,
        order_id: str | None = None,
        paymend_payment_id: str | None = None,
        failure_code: str | None = None,
        provider_failure_code: str | None = None,
        first_decline_code: str | None = None,
        store_id: str | None = None,
    ) -> Self:
        """A checked event with `eventId` and `recovered` derived from the other fields."""
        return cls(
            event_id=status_event_id(payment_id, new_status, paymend_payment_id),
            payment_id=payment_id,
            order_id=order_id,
            paymend_payment_id=paymend_payment_id,
            previous_status=previous_status,
            new_status=new_status,
            amount=amount,
            currency=currency,
            failure_code=failure_code,
            provider_failure_code=provider_failure_code,
            first_decline_code=first_decline_code,
            store_id=store_id,
            occurred_at=occurred_at,
            recovered=PaymentStatus(new_status).recovered,
            cause=cause,
        )
