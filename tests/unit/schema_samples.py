"""Canonical wire samples of every contract (as this service writes them), shared by the schema tests."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import schemas

#: A Luhn-valid test PAN and a CVV whose digits appear nowhere else in the samples.
PAN = "4111111111111111"
CVV = "8642"
MASKED_PAN = "411111******1111"


def decline() -> dict[str, Any]:
    """A PHYSICAL decline with every optional field set."""
    return {
        "schemaVersion": 1,
        "paymentId": "PAY-1001",
        "orderId": "ORD-77",
        "amount": 12997,
        "currency": "USD",
        "card": {
            "number": PAN,
            "holderName": "John Doe",
            "expiryMonth": "12",
            "expiryYear": "2030",
            "cvv": CVV,
            "brand": "VISA",
        },
        "consumer": {
            "firstName": "John",
            "email": "john.doe@example.com",
            "lastName": "Doe",
            "phone": "+1 555 0100",
            "ip": "203.0.113.7",
        },
        "billing": {
            "address": {
                "street": "1 Main St",
                "city": "Springfield",
                "state": "IL",
                "zip": "62701",
                "country": "US",
            }
        },
        "goodsType": "PHYSICAL",
        "storeId": "store_abc123",
        "initiatedBy": "CONSUMER",
        "provider": "AcquirerX",
        "providerFailureCode": "05",
        "attemptNumber": 1,
        "occurredAt": "2025-11-05T14:22:10Z",
        "shipping": {
            "address": {"street": "2 Side St", "city": "Springfield", "country": "US"},
            "firstName": "Jane",
            "lastName": "Doe",
            "email": "jane@example.com",
            "phone": "+1 555 0101",
        },
        "descriptor": "SHOP*ORDER77",
        "productItems": [
            {
                "id": "PROD-001",
                "name": "Wireless Keyboard",
                "quantity": 2,
                "unitPrice": 1999,
                "goodsType": "PHYSICAL",
            }
        ],
    }


def minimal_decline() -> dict[str, Any]:
    """A DIGITAL decline with only the required fields (no schemaVersion: merchants may omit it)."""
    data = decline()
    for key in ("schemaVersion", "shipping", "descriptor", "productItems"):
        del data[key]
    data["goodsType"] = "DIGITAL"
    data["card"] = {"number": PAN, "holderName": "J D", "expiryMonth": "01", "expiryYear": "2031"}
    data["consumer"] = {"firstName": "J", "email": "j@example.com"}
    data["billing"] = {"address": {}}
    return data


def decline_summary() -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "paymentId": "PAY-1001",
        "orderId": "ORD-77",
        "amount": 12997,
        "currency": "USD",
        "storeId": "store_abc123",
        "goodsType": "PHYSICAL",
        "initiatedBy": "CONSUMER",
        "provider": "AcquirerX",
        "providerFailureCode": "05",
        "attemptNumber": 1,
        "occurredAt": "2025-11-05T14:22:10Z",
        "cardBin": "411111",
        "cardLast4": "1111",
        "cardBrand": "VISA",
    }


def order_cancelled() -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "orderId": "ORD-77",
        "reason": "customer asked",
        "occurredAt": "2025-11-05T15:00:00+01:00",
        "paymentId": "PAY-1001",
        "storeId": "store_abc123",
    }


def settled_elsewhere() -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "paymentId": "PAY-1001",
        "method": "PAYPAL",
        "occurredAt": "2025-11-05T15:30:00.250000Z",
        "orderId": "ORD-77",
        "provider": "PayPal",
        "doubleCharge": False,
    }


def webhook() -> dict[str, Any]:
    """A webhook event in the newer format, with fields this contract does not model."""
    return {
        "schemaVersion": 1,
        "eventId": "evt_01",
        "eventType": "PAYMENT_FAILED",
        "payment": {
            "paymentId": "pm_abc",
            "merchantReference": "PAY-1001",
            "status": "FAILED",
            "amount": 12997,
            "currency": "USD",
            "failure": {"failureCode": "INSUFFICIENT_FUNDS", "providerFailureCode": "51"},
            "createdAt": "2025-11-05T14:22:11Z",
            "updatedAt": "2025-11-06T09:00:00Z",
            "goodsType": "PHYSICAL",
            "paymentMethod": {"type": "CARD", "card": {"bin": "41111111", "brand": "VISA"}},
            "transactions": [{"id": "AUTH_eUfZ9n3BCPJo", "type": "AUTHORIZATION", "result": "FAILED"}],
        },
        "receivedAt": "2025-11-06T09:00:01.123456Z",
        "deliveryAttempt": 2,
    }


def status_changed() -> dict[str, Any]:
    event = schemas.PaymentStatusChanged.create(
        payment_id="PAY-1001",
        order_id="ORD-77",
        paymend_payment_id="pm_abc",
        previous_status=schemas.PaymentStatus.PENDING,
        new_status=schemas.PaymentStatus.FAILED,
        amount=12997,
        currency="USD",
        failure_code="INSUFFICIENT_FUNDS",
        provider_failure_code="51",
        first_decline_code="05",
        store_id="store_abc123",
        occurred_at=datetime(2025, 11, 6, 9, 0, 0, tzinfo=UTC),
        cause=schemas.StatusCause.WEBHOOK,
    )
    return schemas.json_loads(event.encode())  # type: ignore[no-any-return]


def dead_letter() -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "sourceTopic": "merchant.declines",
        "partition": 3,
        "offset": 1042,
        "errorClass": "InvalidFieldError",
        "reason": "DeclineEvent.amount: must be an integer >= 1",
        "payloadFormat": "JSON",
        "failedAt": "2025-11-05T14:22:12Z",
        "key": "PAY-1001",
        "payload": {"paymentId": "PAY-1001", "amount": 0, "card": {"number": MASKED_PAN, "cvv": "***"}},
        "payloadTruncated": False,
    }


#: Contract class -> function returning a canonical sample (a fresh copy on every call).
SAMPLES: dict[type[schemas.ContractRecord], Any] = {
    schemas.DeclineEvent: decline,
    schemas.DeclineSummary: decline_summary,
    schemas.OrderCancelled: order_cancelled,
    schemas.PaymentSettledElsewhere: settled_elsewhere,
    schemas.PaymendWebhookEvent: webhook,
    schemas.PaymentStatusChanged: status_changed,
    schemas.DeadLetter: dead_letter,
}


def sample(cls: type[schemas.ContractRecord]) -> dict[str, Any]:
    return copy.deepcopy(SAMPLES[cls]())
