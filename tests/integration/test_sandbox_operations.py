"""Sandbox capture, void and refund over HTTP: the rules, the wrong-state answers in both modes,
replays, and duplicate merchantReferences in both modes."""

from typing import Any

import httpx
import pytest

from tests.fixtures.sandbox import SANDBOX_TOKEN, SandboxFactory, payment_request

pytestmark = pytest.mark.integration


async def create(client: httpx.AsyncClient, card: str = "4444444444440000", **kw: Any) -> dict[str, Any]:
    response = await client.post("/v1/payments", json=payment_request(card, **kw))
    assert response.status_code == 200, response.text
    payment: dict[str, Any] = response.json()
    return payment


async def op(client: httpx.AsyncClient, payment: dict[str, Any], name: str, **body: Any) -> httpx.Response:
    return await client.post(f"/v1/payments/{payment['paymentId']}/{name}", json=body or None)


async def client_with(factory: SandboxFactory, **config: Any) -> httpx.AsyncClient:
    server = await factory(**config)
    return httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"})


def kinds(payment: dict[str, Any]) -> list[tuple[str, str]]:
    return [(t["type"], t["result"]) for t in payment["transactions"]]


async def test_authorize_capture_refund(sandbox_client: httpx.AsyncClient) -> None:
    payment = await create(sandbox_client)
    captured = await op(sandbox_client, payment, "capture")
    assert captured.status_code == 200
    assert captured.json()["status"] == "CAPTURED"
    refunded = (await op(sandbox_client, payment, "refund")).json()
    assert refunded["status"] == "REFUNDED"
    assert kinds(refunded) == [
        ("AUTHORIZATION", "SUCCEEDED"),
        ("CAPTURE", "SUCCEEDED"),
        ("REFUND", "SUCCEEDED"),
    ]
    assert [t["id"][:5] for t in refunded["transactions"]] == ["AUTH_", "CAPT_", "REFD_"]
    assert refunded["updatedAt"] >= refunded["createdAt"]


async def test_capture_amount_is_accepted_up_to_the_authorized_amount(
    sandbox_client: httpx.AsyncClient,
) -> None:
    payment = await create(sandbox_client)
    too_much = await op(sandbox_client, payment, "capture", captureAmount=5000)
    assert too_much.status_code == 400
    assert too_much.json()["error"]["field"] == "captureAmount"
    invalid = await op(sandbox_client, payment, "capture", captureAmount=0)
    assert invalid.status_code == 400
    assert invalid.json()["error"]["field"] == "captureAmount"
    partial = (await op(sandbox_client, payment, "capture", captureAmount=750)).json()
    assert partial["status"] == "CAPTURED"
    assert partial["transactions"][-1]["amount"] == 4999


async def test_partial_refunds_stay_captured_until_fully_refunded(sandbox_client: httpx.AsyncClient) -> None:
    payment = await create(sandbox_client, captureNow=True)
    first = (await op(sandbox_client, payment, "refund", refundAmount=1000)).json()
    assert first["status"] == "CAPTURED"
    assert first["transactions"][-1]["amount"] == 1000
    over = await op(sandbox_client, payment, "refund", refundAmount=4000)
    assert over.status_code == 400
    assert over.json()["error"]["field"] == "refundAmount"
    rest = (await op(sandbox_client, payment, "refund")).json()
    assert rest["status"] == "REFUNDED"
    assert rest["transactions"][-1]["amount"] == 3999


async def test_void_an_authorized_payment(sandbox_client: httpx.AsyncClient) -> None:
    payment = await create(sandbox_client)
    voided = (await op(sandbox_client, payment, "void")).json()
    assert voided["status"] == "VOIDED"
    assert kinds(voided)[-1] == ("VOID", "SUCCEEDED")


@pytest.mark.parametrize(
    ("setup", "operation"),
    [
        ([], "refund"),  # AUTHORIZED
        (["capture"], "capture"),  # CAPTURED
        (["capture"], "void"),
        (["void"], "capture"),  # VOIDED
        (["void"], "void"),
        (["void"], "refund"),
        (["capture", "refund"], "refund"),  # REFUNDED
        (["capture", "refund"], "void"),
    ],
)
async def test_wrong_state_is_409_by_default(
    sandbox_client: httpx.AsyncClient, setup: list[str], operation: str
) -> None:
    payment = await create(sandbox_client)
    for name in setup:
        assert (await op(sandbox_client, payment, name)).status_code == 200
    before = (await sandbox_client.get(f"/v1/payments/{payment['paymentId']}")).json()
    response = await op(sandbox_client, payment, operation)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "INVALID_STATE"
    assert error["status"] == before["status"]
    after = (await sandbox_client.get(f"/v1/payments/{payment['paymentId']}")).json()
    assert after == before


@pytest.mark.parametrize("operation", ["capture", "void", "refund"])
async def test_any_operation_on_failed_is_refused(sandbox_client: httpx.AsyncClient, operation: str) -> None:
    payment = await create(sandbox_client, "4000000000000005")
    response = await op(sandbox_client, payment, operation)
    assert response.status_code == 409
    assert response.json()["error"]["status"] == "FAILED"


async def test_wrong_state_can_record_a_failed_transaction(sandbox_factory: SandboxFactory) -> None:
    async with await client_with(sandbox_factory, wrong_state="failed-transaction") as client:
        payment = await create(client)
        response = await op(client, payment, "refund")
        assert response.status_code == 200
        refused = response.json()
        assert refused["status"] == "AUTHORIZED"
        assert refused["transactions"][-1]["type"] == "REFUND"
        assert refused["transactions"][-1]["result"] == "FAILED"
        assert refused["transactions"][-1]["failure"] == {"failureCode": "INVALID_STATE"}
        assert "failure" not in refused  # the payment itself did not fail


async def test_idempotent_replays_answer_the_payment_unchanged(sandbox_factory: SandboxFactory) -> None:
    async with await client_with(sandbox_factory, idempotent_replays=True) as client:
        payment = await create(client)
        first = (await op(client, payment, "void")).json()
        again = await op(client, payment, "void")
        assert again.status_code == 200
        assert again.json() == first
        assert (await op(client, payment, "capture")).status_code == 409  # not a replay


async def test_capture_failing_card_keeps_authorized(sandbox_client: httpx.AsyncClient) -> None:
    payment = await create(sandbox_client, "4000000000002000")
    failed = (await op(sandbox_client, payment, "capture")).json()
    assert failed["status"] == "AUTHORIZED"
    assert failed["transactions"][-1]["result"] == "FAILED"
    assert failed["transactions"][-1]["failure"]["failureCode"] == "SYSTEM_MALFUNCTION"
    sale = await create(sandbox_client, "4000000000002000", reference="SALE", captureNow=True)
    assert sale["status"] == "AUTHORIZED"
    assert kinds(sale) == [
        ("AUTHORIZATION", "SUCCEEDED"),
        ("CAPTURE", "FAILED"),
    ]
    assert (await op(sandbox_client, payment, "void")).json()["status"] == "VOIDED"


async def test_refund_failing_card_keeps_captured(sandbox_client: httpx.AsyncClient) -> None:
    payment = await create(sandbox_client, "4000000000003000", captureNow=True)
    for _ in range(2):
        failed = (await op(sandbox_client, payment, "refund")).json()
        assert failed["status"] == "CAPTURED"
        assert failed["transactions"][-1]["result"] == "FAILED"
    assert len(failed["transactions"]) == 4


async def test_duplicate_reference_returns_the_existing_payment(sandbox_client: httpx.AsyncClient) -> None:
    payment = await create(sandbox_client, reference="ORDER-DUP")
    again = await sandbox_client.post(
        "/v1/payments", json=payment_request("4000000000000051", reference="ORDER-DUP")
    )
    assert again.status_code == 200
    assert again.json() == payment
    listed = (
        await sandbox_client.get("/_sandbox/payments", params={"merchantReference": "ORDER-DUP"})
    ).json()
    assert listed["count"] == 1
    assert listed["createRequests"] == 2


async def test_duplicate_reference_conflict_mode(sandbox_factory: SandboxFactory) -> None:
    async with await client_with(sandbox_factory, duplicate_reference="conflict") as client:
        payment = await create(client, reference="ORDER-DUP")
        again = await client.post("/v1/payments", json=payment_request(reference="ORDER-DUP"))
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "DUPLICATE_MERCHANT_REFERENCE"
    assert error["paymentId"] == payment["paymentId"]
    assert error["field"] == "merchantReference"
