"""Paymend request and response models: JSON shapes, tolerance of both doc versions, masking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.masking import mask_pan
from streams.paymend import (
    Address,
    Billing,
    Card,
    CardResponse,
    Consumer,
    Failure,
    GoodsType,
    InitiatedBy,
    PaymendProtocolError,
    PaymentMethod,
    PaymentRequest,
    PaymentResponse,
    PaymentStatus,
    PreviousFailure,
    ProductItem,
    Shipping,
    Source,
    Transaction,
    TransactionResult,
    TransactionType,
)
from tests.unit.paymend_builders import CVV, PAN, card, payment_json, payment_request

# --- requests ---------------------------------------------------------------------------------


def test_full_request_uses_the_documented_camel_case_names() -> None:
    request = payment_request(
        goods=GoodsType.MIXED,
        capture_now=True,
        descriptor="SHOP*ORDER1",
        shipping=Shipping(Address(street="1 Main St", country="DE"), extra={"recipientName": "Jane Doe"}),
        product_items=(ProductItem("PROD-001", "Wireless Keyboard", 2, 1999, GoodsType.PHYSICAL),),
        previous_failures=(
            PreviousFailure(
                "05",
                provider="AcquirerX",
                attempt_number=1,
                created_at=datetime(2025, 11, 5, 14, 22, 10, tzinfo=UTC),
            ),
        ),
    )
    assert request.to_json() == {
        "amount": 4999,
        "currency": "EUR",
        "merchantReference": "ORDER-1",
        "goodsType": "MIXED",
        "captureNow": True,
        "descriptor": "SHOP*ORDER1",
        "source": {"storeId": "store_abc123", "initiatedBy": "MERCHANT"},
        "paymentMethod": {
            "type": "CARD",
            "card": {
                "number": PAN,
                "holderName": "John Doe",
                "cvv": CVV,
                "expiryMonth": "12",
                "expiryYear": "2030",
                "brand": "VISA",
            },
        },
        "consumer": {"firstName": "John", "email": "john.doe@example.com"},
        "billing": {"address": {"street": "1 Main St", "city": "Berlin", "zip": "10115", "country": "DE"}},
        "shipping": {"recipientName": "Jane Doe", "address": {"street": "1 Main St", "country": "DE"}},
        "productItems": [
            {
                "id": "PROD-001",
                "name": "Wireless Keyboard",
                "quantity": 2,
                "unitPrice": 1999,
                "goodsType": "PHYSICAL",
            }
        ],
        "previousFailures": [
            {
                "provider": "AcquirerX",
                "providerFailureCode": "05",
                "attemptNumber": 1,
                "createdAt": "2025-11-05T14:22:10Z",
            }
        ],
    }


def test_none_and_empty_fields_are_left_out() -> None:
    request = PaymentRequest(
        amount=100,
        currency="USD",
        merchant_reference="R-1",
        goods_type=GoodsType.DIGITAL,
        payment_method=PaymentMethod(card(cvv=None)),
        source=Source("store_1"),
    )
    body = request.to_json()
    assert set(body) == {"amount", "currency", "merchantReference", "goodsType", "source", "paymentMethod"}
    assert body["source"] == {"storeId": "store_1"}
    assert "cvv" not in body["paymentMethod"]["card"]


def test_enum_fields_accept_any_case_and_serialise_upper_case() -> None:
    request = payment_request(goods="physical", source=Source("s", initiated_by="consumer"))  # type: ignore[arg-type]
    assert request.goods_type is GoodsType.PHYSICAL
    assert request.source.initiated_by is InitiatedBy.CONSUMER
    assert request.to_json()["goodsType"] == "PHYSICAL"
    assert card().to_json()["brand"] == "VISA"
    assert Card(PAN, "J", "01", "2030", brand="visa").brand == "VISA"


def test_previous_failure_time_is_sent_in_utc() -> None:
    cest = timezone(timedelta(hours=2))
    failure = PreviousFailure("51", created_at=datetime(2025, 11, 5, 16, 22, 10, tzinfo=cest))
    assert failure.to_json() == {"providerFailureCode": "51", "createdAt": "2025-11-05T14:22:10Z"}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: payment_request(amount=0), "amount must be an integer of at least 1"),
        (lambda: payment_request(amount=True), "amount must be an integer"),
        (lambda: payment_request(currency="eur"), "currency"),
        (lambda: payment_request(merchant_reference=" "), "merchantReference"),
        (lambda: payment_request(goods=GoodsType.PHYSICAL, shipping=None), "shipping is required"),
        (lambda: payment_request(goods=GoodsType.PHYSICAL, shipping=Shipping()), "shipping is required"),
        (lambda: ProductItem("p", "n", 1, 100, GoodsType.MIXED), "PHYSICAL or DIGITAL"),
        (lambda: ProductItem("p", "n", 0, 100, GoodsType.DIGITAL), "quantity"),
        (lambda: PreviousFailure("05"), "attemptNumber or createdAt"),
        (lambda: PreviousFailure("05", created_at=datetime(2025, 1, 1)), "timezone-aware"),
        (lambda: Shipping(extra={"address": {}}), "Shipping.address"),
        (lambda: Consumer(first_name="J", email=""), "email"),
        (lambda: Source(""), "storeId"),
    ],
)
def test_invalid_requests_fail_before_the_network(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    ("number", "cvv", "month", "year"),
    [
        ("4444 4444 4444 0000", None, "12", "2030"),
        ("44444444444400001234", None, "12", "2030"),
        (PAN, "73", "12", "2030"),
        (PAN, "73a1", "12", "2030"),
        (PAN, CVV, "13", "2030"),
        (PAN, CVV, "1", "2030"),
        (PAN, CVV, "12", "30"),
    ],
)
def test_card_validation_never_echoes_card_data(number: str, cvv: str | None, month: str, year: str) -> None:
    with pytest.raises(ValueError, match="card") as caught:
        Card(number=number, holder_name="John Doe", expiry_month=month, expiry_year=year, cvv=cvv)
    text = f"{caught.value} {caught.value!r}"
    assert number not in text
    assert number.replace(" ", "") not in text
    assert cvv is None or cvv not in text


def test_card_repr_masks_the_number_and_the_cvv() -> None:
    assert repr(card()) == (
        "Card(number='444444******0000', holder_name='John Doe', expiry_month='12', "
        "expiry_year='2030', cvv='***', brand='VISA')"
    )
    assert str(card()) == repr(card())
    request = payment_request()
    for text in (repr(request), str(request), repr(request.payment_method), f"{request}"):
        assert PAN not in text
        assert CVV not in text
        assert "cvv='***'" in text


@given(
    number=st.text(alphabet="0123456789", min_size=12, max_size=19),
    cvv=st.text(alphabet="0123456789", min_size=3, max_size=4),
)
def test_no_pan_survives_repr(number: str, cvv: str) -> None:
    request = payment_request(payment_method=PaymentMethod(card(number=number, cvv=cvv)))
    text = repr(request)
    assert number not in text
    assert f"cvv={cvv!r}" not in text
    # The one project-wide mask: at most the first 6 and the last 4 digits, at least 5 hidden.
    shown = mask_pan(number)
    assert f"number='{shown}'" in text
    assert shown.count("*") >= 5


# --- enums ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("PENDING", PaymentStatus.PENDING),
        ("Authorized", PaymentStatus.AUTHORIZED),
        ("captured", PaymentStatus.CAPTURED),
        (" Voided ", PaymentStatus.VOIDED),
        ("Reversed", PaymentStatus.VOIDED),
        ("REFUNDED", PaymentStatus.REFUNDED),
        ("Failed", PaymentStatus.FAILED),
    ],
)
def test_statuses_are_read_case_insensitively(raw: str, status: PaymentStatus) -> None:
    assert PaymentStatus(raw) is status


def test_terminal_statuses() -> None:
    terminal = {s for s in PaymentStatus if s.is_terminal}
    assert terminal == {PaymentStatus.VOIDED, PaymentStatus.REFUNDED, PaymentStatus.FAILED}


# --- responses --------------------------------------------------------------------------------


def test_new_version_response_is_read_whole() -> None:
    body = payment_json(
        "FAILED",
        failure={"failureCode": "INSUFFICIENT_FUNDS", "providerFailureCode": "51"},
        transactions=[
            {
                "id": "AUTH_eUfZ9n3BCPJo",
                "type": "AUTHORIZATION",
                "amount": "100",
                "result": "FAILED",
                "failure": {"failureCode": "INSUFFICIENT_FUNDS", "providerFailureCode": "51"},
                "createdAt": "2025-12-15T10:22:10Z",
            }
        ],
    )
    response = PaymentResponse.from_json(body)
    assert response.payment_id == "pay_0123456789"
    assert response.status is PaymentStatus.FAILED
    assert response.merchant_reference == "ORDER-1"
    assert response.amount == 4999
    assert response.failure == Failure(failure_code="INSUFFICIENT_FUNDS", provider_failure_code="51")
    assert response.goods_type is GoodsType.DIGITAL
    assert response.source is not None
    assert response.source.initiated_by is InitiatedBy.MERCHANT
    assert response.payment_method is not None
    assert response.payment_method.card == CardResponse(
        bin="44444444",
        holder_name="John Doe",
        cvv_present_during_attempt=True,
        expiry_month="12",
        expiry_year="2030",
        brand="VISA",
    )
    assert response.transactions == (
        Transaction(
            id="AUTH_eUfZ9n3BCPJo",
            type=TransactionType.AUTHORIZATION,
            result=TransactionResult.FAILED,
            amount=100,
            failure=Failure(failure_code="INSUFFICIENT_FUNDS", provider_failure_code="51"),
            created_at="2025-12-15T10:22:10Z",
        ),
    )
    assert response.created_at == "2025-12-15T10:22:10Z"


def test_old_version_failure_fields_become_one_failure() -> None:
    body = payment_json("Failed", failureCode="INSUFFICIENT_FUNDS", failureMessage="Not enough money")
    del body["source"]
    response = PaymentResponse.from_json(body)
    assert response.status is PaymentStatus.FAILED
    assert response.failure == Failure(failure_code="INSUFFICIENT_FUNDS", message="Not enough money")
    assert response.source is None
    assert response.transactions is None


def test_both_failure_versions_merge() -> None:
    body = payment_json(
        "FAILED", failure={"providerFailureCode": "51"}, failureCode="DECLINED", failureMessage="m"
    )
    assert PaymentResponse.from_json(body).failure == Failure("DECLINED", "51", "m")


def test_unknown_fields_and_values_are_tolerated() -> None:
    body = payment_json(
        "pending",
        riskScore=12,
        nested={"anything": [1, 2]},
        goodsType="SERVICES",
        transactions=[{"id": "T1", "type": "SALE", "result": "SUCCEEDED", "amount": 4999.0, "extra": True}],
    )
    body["paymentMethod"]["card"]["last4"] = "0000"
    response = PaymentResponse.from_json(body)
    assert response.status is PaymentStatus.PENDING
    assert response.goods_type == "SERVICES"
    assert response.transactions is not None
    assert response.transactions[0].type == "SALE"
    assert response.transactions[0].amount == 4999


def test_a_minimal_response_needs_only_id_and_status() -> None:
    response = PaymentResponse.from_json({"paymentId": "p", "status": "VOIDED"})
    assert response == PaymentResponse(payment_id="p", status=PaymentStatus.VOIDED)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "SETTLED"}, "unknown status 'SETTLED'"),
        ({"status": None}, r"PaymentResponse\.status: missing"),
        ({"paymentId": None}, r"PaymentResponse\.paymentId: missing"),
        ({"paymentId": 42}, r"paymentId: expected a string, got a number"),
        ({"amount": "12.50"}, r"amount: expected an integer amount, got a string"),
        ({"amount": 12.5}, r"amount: expected an integer amount, got a number"),
        ({"captureNow": "yes"}, r"captureNow: expected a boolean"),
        ({"transactions": {}}, r"transactions: expected an array"),
        ({"transactions": [1]}, r"transactions\[0\]: expected a JSON object"),
        ({"paymentMethod": []}, r"paymentMethod: expected an object, got an array"),
    ],
)
def test_malformed_responses_are_protocol_errors(change: dict[str, Any], message: str) -> None:
    body = payment_json() | change
    with pytest.raises(PaymendProtocolError, match=message):
        PaymentResponse.from_json(body)


def test_protocol_errors_name_the_field_not_the_value() -> None:
    with pytest.raises(PaymendProtocolError) as caught:
        PaymentResponse.from_json(payment_json(amount="4444444444440000x"))
    assert "4444444444440000" not in str(caught.value)


def test_a_non_object_body_is_a_protocol_error() -> None:
    with pytest.raises(PaymendProtocolError, match="expected a JSON object, got an array"):
        PaymentResponse.from_json([])  # type: ignore[arg-type]


def test_response_repr_holds_no_pan() -> None:
    text = repr(PaymentResponse.from_json(payment_json()))
    assert PAN not in text
    assert "bin='44444444'" in text


def test_billing_without_address_is_omitted() -> None:
    assert payment_request(billing=Billing()).to_json().get("billing") is None
