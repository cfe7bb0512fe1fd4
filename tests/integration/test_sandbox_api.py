"""Sandbox over real HTTP: auth, validation, not-found, the operations and their wrong states,
duplicate merchantReferences, and what a response may (not) contain."""

import re
from typing import Any

import httpx
import pytest

from streams.sandbox import SandboxServer
from tests.fixtures.sandbox import SANDBOX_TOKEN, SandboxFactory, payment_request

pytestmark = pytest.mark.integration

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def create(client: httpx.AsyncClient, card: str = "4444444444440000", **kw: Any) -> dict[str, Any]:
    response = await client.post("/v1/payments", json=payment_request(card, **kw))
    assert response.status_code == 200, response.text
    payment: dict[str, Any] = response.json()
    return payment


def client_for(server: SandboxServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"})


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic dGVzdA==", f"Token {SANDBOX_TOKEN}"])
async def test_requests_without_the_token_get_401(sandbox: SandboxServer, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    async with httpx.AsyncClient(base_url=sandbox.url, headers=headers) as client:
        response = await client.post("/v1/payments", json=payment_request())
        get = await client.get("/v1/payments/pay_x")
    assert response.status_code == get.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert len(sandbox.store) == 0


async def test_bearer_scheme_is_case_insensitive(sandbox: SandboxServer) -> None:
    async with httpx.AsyncClient(
        base_url=sandbox.url, headers={"Authorization": f"bearer {SANDBOX_TOKEN}"}
    ) as c:
        assert (await c.post("/v1/payments", json=payment_request())).status_code == 200


async def test_create_answers_a_full_payment_response(sandbox_client: httpx.AsyncClient) -> None:
    body = payment_request(goodsType="PHYSICAL", shipping={"address": {"country": "DE"}}, descriptor="SHOP")
    response = await sandbox_client.post("/v1/payments", json=body)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    payment = response.json()
    assert payment["status"] == "AUTHORIZED"
    assert payment["captureNow"] is False
    assert len(payment["paymentId"]) <= 32
    assert payment["paymentMethod"] == {
        "type": "CARD",
        "card": {
            "bin": "44444444",
            "holderName": "Jane Doe",
            "cvvPresentDuringAttempt": True,
            "expiryMonth": "12",
            "expiryYear": "2099",
            "brand": "VISA",
        },
    }
    for key in (
        "merchantReference",
        "amount",
        "currency",
        "goodsType",
        "source",
        "consumer",
        "shipping",
        "descriptor",
    ):
        assert payment[key] == body[key]
    assert "failure" not in payment
    [tx] = payment["transactions"]
    assert tx["type"] == "AUTHORIZATION"
    assert tx["result"] == "SUCCEEDED"
    assert tx["amount"] == 4999
    assert tx["id"].startswith("AUTH_")
    assert len(tx["id"]) <= 32
    assert ISO_UTC.fullmatch(payment["createdAt"])
    assert ISO_UTC.fullmatch(payment["updatedAt"])
    got = await sandbox_client.get(f"/v1/payments/{payment['paymentId']}")
    assert got.status_code == 200
    assert got.json() == payment


async def test_card_number_and_cvv_never_come_back(
    sandbox: SandboxServer, sandbox_client: httpx.AsyncClient
) -> None:
    payment = await create(sandbox_client, "4000000000000051")
    text = (await sandbox_client.get(f"/v1/payments/{payment['paymentId']}")).text
    assert "4000000000000051" not in text
    assert '"cvv"' not in text
    invalid = payment_request("4000000000000051", reference="BAD")
    invalid["paymentMethod"]["card"]["cvv"] = "98765"
    error = (await sandbox_client.post("/v1/payments", json=invalid)).text
    assert "98765" not in error
    assert "4000000000000051" not in error
    assert "4000000000000051" not in repr(list(sandbox.store))


@pytest.mark.parametrize(
    ("card", "capture_now", "status"),
    [
        ("4444444444440000", False, "AUTHORIZED"),
        ("4444444444440000", True, "CAPTURED"),
        ("5555555555550000", False, "AUTHORIZED"),
        ("370000000000002", True, "CAPTURED"),
    ],
)
async def test_approving_cards(
    sandbox_client: httpx.AsyncClient, card: str, capture_now: bool, status: str
) -> None:
    payment = await create(sandbox_client, card, captureNow=capture_now)
    assert payment["status"] == status
    expected = ["AUTHORIZATION", "CAPTURE"] if capture_now else ["AUTHORIZATION"]
    assert [t["type"] for t in payment["transactions"]] == expected
    assert all(t["result"] == "SUCCEEDED" for t in payment["transactions"])


@pytest.mark.parametrize(
    ("card", "code", "provider"),
    [
        ("4000000000000051", "INSUFFICIENT_FUNDS", "51"),
        ("4000000000000005", "DO_NOT_HONOR", "05"),
        ("4000000000000054", "EXPIRED_CARD", "54"),
        ("4000000000000014", "INVALID_CARD_NUMBER", "14"),
        ("4000000000000041", "LOST_CARD", "41"),
        ("4000000000000043", "STOLEN_CARD", "43"),
        ("4000000000000057", "TRANSACTION_NOT_PERMITTED", "57"),
        ("4000000000000059", "SUSPECTED_FRAUD", "59"),
        ("4000000000000061", "EXCEEDS_WITHDRAWAL_LIMIT", "61"),
        ("4000000000000062", "RESTRICTED_CARD", "62"),
        ("4000000000000065", "ACTIVITY_LIMIT_EXCEEDED", "65"),
        ("4000000000000091", "ISSUER_UNAVAILABLE", "91"),
        ("4000000000000096", "SYSTEM_MALFUNCTION", "96"),
    ],
)
async def test_declining_cards(
    sandbox_client: httpx.AsyncClient, card: str, code: str, provider: str
) -> None:
    payment = await create(sandbox_client, card, captureNow=True)
    assert payment["status"] == "FAILED"
    assert payment["failure"] == {"failureCode": code, "providerFailureCode": provider}
    [tx] = payment["transactions"]
    assert (tx["type"], tx["result"], tx["failure"]) == ("AUTHORIZATION", "FAILED", payment["failure"])
    assert "failureCode" not in payment


async def test_legacy_failure_fields_on_request(sandbox_factory: SandboxFactory) -> None:
    async with client_for(await sandbox_factory(legacy_failure_fields=True)) as client:
        payment = await create(client, "4000000000000051")
    assert payment["failureCode"] == "INSUFFICIENT_FUNDS"
    assert payment["failureMessage"]
    assert payment["failure"]["failureCode"] == "INSUFFICIENT_FUNDS"


async def test_expired_card_is_declined(sandbox_client: httpx.AsyncClient) -> None:
    body = payment_request()
    body["paymentMethod"]["card"].update(expiryMonth="01", expiryYear="2020")
    payment = (await sandbox_client.post("/v1/payments", json=body)).json()
    assert payment["status"] == "FAILED"
    assert payment["failure"]["failureCode"] == "EXPIRED_CARD"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (payment_request(amount=0), "amount"),
        (payment_request(currency="usd"), "currency"),
        (payment_request(goodsType="PHYSICAL"), "shipping"),
        (payment_request(source={"initiatedBy": "MERCHANT"}), "source.storeId"),
        (payment_request(source={"storeId": "s", "initiatedBy": "BOT"}), "source.initiatedBy"),
        (payment_request("4444 4444"), "paymentMethod.card.number"),
        (payment_request(previousFailures=[{"attemptNumber": 1}]), "previousFailures[0].providerFailureCode"),
        ([], None),
    ],
)
async def test_invalid_requests_get_400_naming_the_field(
    sandbox_client: httpx.AsyncClient, body: Any, field: str | None
) -> None:
    response = await sandbox_client.post("/v1/payments", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error.get("field") == field
    assert error["message"]


async def test_malformed_json_gets_400(sandbox_client: httpx.AsyncClient) -> None:
    for path in ("/v1/payments", "/v1/payments/pay_x/refund"):
        response = await sandbox_client.post(
            path, content=b'{"amount": ', headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "INVALID_JSON"


async def test_unknown_payment_and_path_get_404_and_wrong_method_405(
    sandbox_client: httpx.AsyncClient,
) -> None:
    for method, path in [
        ("GET", "/v1/payments/pay_unknown"),
        ("POST", "/v1/payments/pay_unknown/capture"),
        ("POST", "/v1/payments/pay_unknown/void"),
        ("POST", "/v1/payments/pay_unknown/refund"),
        ("GET", "/v1/nothing"),
    ]:
        response = await sandbox_client.request(method, path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "NOT_FOUND"
    response = await sandbox_client.delete("/v1/payments")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
