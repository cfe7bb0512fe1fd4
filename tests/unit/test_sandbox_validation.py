"""Sandbox request validation: every rule names the offending field, and never echoes card data."""

import copy
from collections.abc import Callable
from typing import Any

import pytest

from streams.sandbox.validation import FieldError, validate_amount_body, validate_payment
from tests.fixtures.sandbox import payment_request

Mutation = Callable[[dict[str, Any]], None]


def _card(body: dict[str, Any]) -> dict[str, Any]:
    card: dict[str, Any] = body["paymentMethod"]["card"]
    return card


def _set(path: str, value: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for key in parents:
            target = target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return mutate


_DELETE = object()


def test_a_valid_request_passes() -> None:
    body = payment_request()
    assert validate_payment(body) is body


def test_optional_sections_and_lower_case_type_pass() -> None:
    body = payment_request(
        goodsType="MIXED",
        shipping={"address": {"country": "DE"}, "anything": "else"},
        captureNow=True,
        descriptor="SHOP*ORDER",
        billing={"address": {"street": "Main St 1"}},
        productItems=[
            {"id": "P1", "name": "Keyboard", "quantity": 2, "unitPrice": 1999, "goodsType": "PHYSICAL"}
        ],
        previousFailures=[
            {"provider": "AcquirerX", "attemptNumber": 1, "providerFailureCode": "05"},
            {"providerFailureCode": "51", "createdAt": "2025-11-05T14:22:10Z"},
        ],
        unknownField={"ignored": True},
    )
    body["paymentMethod"]["type"] = "card"
    del _card(body)["cvv"]
    validate_payment(body)


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        (_set("amount", _DELETE), "amount"),
        (_set("amount", 0), "amount"),
        (_set("amount", 12.5), "amount"),
        (_set("amount", "100"), "amount"),
        (_set("amount", True), "amount"),
        (_set("currency", "eur"), "currency"),
        (_set("currency", "EURO"), "currency"),
        (_set("currency", _DELETE), "currency"),
        (_set("paymentMethod", _DELETE), "paymentMethod"),
        (_set("paymentMethod", "card"), "paymentMethod"),
        (_set("paymentMethod.type", "PAYPAL"), "paymentMethod.type"),
        (_set("paymentMethod.type", _DELETE), "paymentMethod.type"),
        (_set("paymentMethod.card", _DELETE), "paymentMethod.card"),
        (_set("paymentMethod.card.number", "4444-4444-4444-0000"), "paymentMethod.card.number"),
        (_set("paymentMethod.card.number", 4444444444440000), "paymentMethod.card.number"),
        (_set("paymentMethod.card.number", "12345"), "paymentMethod.card.number"),
        (_set("paymentMethod.card.holderName", " "), "paymentMethod.card.holderName"),
        (_set("paymentMethod.card.expiryMonth", "13"), "paymentMethod.card.expiryMonth"),
        (_set("paymentMethod.card.expiryMonth", "1"), "paymentMethod.card.expiryMonth"),
        (_set("paymentMethod.card.expiryMonth", 12), "paymentMethod.card.expiryMonth"),
        (_set("paymentMethod.card.expiryYear", "30"), "paymentMethod.card.expiryYear"),
        (_set("paymentMethod.card.cvv", "12"), "paymentMethod.card.cvv"),
        (_set("paymentMethod.card.cvv", "12345"), "paymentMethod.card.cvv"),
        (_set("merchantReference", ""), "merchantReference"),
        (_set("merchantReference", "x" * 256), "merchantReference"),
        (_set("merchantReference", _DELETE), "merchantReference"),
        (_set("goodsType", "SERVICES"), "goodsType"),
        (_set("goodsType", "digital"), "goodsType"),
        (_set("goodsType", "PHYSICAL"), "shipping"),
        (_set("source", _DELETE), "source"),
        (_set("source.storeId", _DELETE), "source.storeId"),
        (_set("source.initiatedBy", "ROBOT"), "source.initiatedBy"),
        (_set("captureNow", "yes"), "captureNow"),
        (_set("descriptor", 42), "descriptor"),
        (_set("consumer.email", _DELETE), "consumer.email"),
        (_set("consumer.firstName", _DELETE), "consumer.firstName"),
        (_set("billing", {"address": "Main St"}), "billing.address"),
        (_set("productItems", {"id": "P1"}), "productItems"),
        (
            _set(
                "productItems",
                [{"id": "P1", "name": "K", "quantity": 0, "unitPrice": 1, "goodsType": "DIGITAL"}],
            ),
            "productItems[0].quantity",
        ),
        (
            _set(
                "productItems",
                [{"id": "P1", "name": "K", "quantity": 1, "unitPrice": 1, "goodsType": "MIXED"}],
            ),
            "productItems[0].goodsType",
        ),
        (
            _set("productItems", [{"name": "K", "quantity": 1, "unitPrice": 1, "goodsType": "DIGITAL"}]),
            "productItems[0].id",
        ),
        (_set("previousFailures", [{"attemptNumber": 1}]), "previousFailures[0].providerFailureCode"),
        (_set("previousFailures", [{"providerFailureCode": "05"}]), "previousFailures[0].attemptNumber"),
        (
            _set("previousFailures", [{"providerFailureCode": "05", "attemptNumber": 0}]),
            "previousFailures[0].attemptNumber",
        ),
    ],
)
def test_invalid_field_is_named(mutation: Mutation, field: str) -> None:
    body = copy.deepcopy(payment_request())
    mutation(body)
    with pytest.raises(FieldError) as caught:
        validate_payment(body)
    assert caught.value.field == field


@pytest.mark.parametrize("body", [None, [], "x", 5])
def test_body_must_be_an_object(body: Any) -> None:
    with pytest.raises(FieldError) as caught:
        validate_payment(body)
    assert caught.value.field is None


def test_messages_never_contain_card_data() -> None:
    for field, value in [("number", "4444x44444440000"), ("cvv", "98765"), ("expiryMonth", "77")]:
        body = payment_request()
        _card(body)[field] = value
        with pytest.raises(FieldError) as caught:
            validate_payment(body)
        assert value not in str(caught.value)


@pytest.mark.parametrize(("body", "expected"), [(None, None), ({}, None), ({"captureAmount": 750}, 750)])
def test_amount_bodies(body: Any, expected: int | None) -> None:
    assert validate_amount_body(body, "captureAmount") == expected


@pytest.mark.parametrize("body", [{"captureAmount": 0}, {"captureAmount": "750"}, {"captureAmount": 1.5}, []])
def test_invalid_amount_bodies(body: Any) -> None:
    with pytest.raises(FieldError):
        validate_amount_body(body, "captureAmount")
