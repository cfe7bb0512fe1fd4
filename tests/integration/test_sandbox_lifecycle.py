"""Sandbox PENDING payments over HTTP: background resolution, the recovery window, voiding a
PENDING payment, the seeded mix, and the `/_sandbox` controls."""

from typing import Any

import httpx
import pytest

from streams.sandbox import SandboxServer
from tests.fixtures.sandbox import SANDBOX_TOKEN, SandboxFactory, payment_request

pytestmark = pytest.mark.integration


async def create(client: httpx.AsyncClient, card: str, **kw: Any) -> dict[str, Any]:
    response = await client.post("/v1/payments", json=payment_request(card, **kw))
    assert response.status_code == 200, response.text
    payment: dict[str, Any] = response.json()
    return payment


async def settled(
    server: SandboxServer, client: httpx.AsyncClient, payment: dict[str, Any]
) -> dict[str, Any]:
    await server.store.wait_for(payment["paymentId"], lambda p: p.status != "PENDING", timeout_s=5)
    got: dict[str, Any] = (await client.get(f"/v1/payments/{payment['paymentId']}")).json()
    return got


@pytest.mark.parametrize(("capture_now", "status"), [(False, "AUTHORIZED"), (True, "CAPTURED")])
async def test_pending_then_approved(
    sandbox: SandboxServer, sandbox_client: httpx.AsyncClient, capture_now: bool, status: str
) -> None:
    payment = await create(sandbox_client, "4000000000001000", captureNow=capture_now)
    assert payment["status"] == "PENDING"
    assert "transactions" not in payment
    assert "failure" not in payment
    final = await settled(sandbox, sandbox_client, payment)
    assert final["status"] == status
    assert final["transactions"][0]["type"] == "AUTHORIZATION"
    assert final["updatedAt"] >= final["createdAt"]


@pytest.mark.parametrize(
    ("card", "code"), [("4000000000001051", "INSUFFICIENT_FUNDS"), ("4000000000001005", "DO_NOT_HONOR")]
)
async def test_pending_then_failed(
    sandbox: SandboxServer, sandbox_client: httpx.AsyncClient, card: str, code: str
) -> None:
    payment = await create(sandbox_client, card)
    assert payment["status"] == "PENDING"
    final = await settled(sandbox, sandbox_client, payment)
    assert final["status"] == "FAILED"
    assert final["failure"]["failureCode"] == code
    assert final["transactions"][-1]["result"] == "FAILED"


async def test_pending_until_the_recovery_window_expires(sandbox_factory: SandboxFactory) -> None:
    server = await sandbox_factory(recovery_window_ms=200.0, pending_delay_ms="fixed:5000")
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    ) as client:
        forever = await create(client, "4000000000009999", reference="A")
        too_slow = await create(client, "4000000000001000", reference="B")  # its delay exceeds the window
        for payment in (forever, too_slow):
            final = await settled(server, client, payment)
            assert final["status"] == "FAILED"
            assert final["failure"]["failureCode"] == "RECOVERY_WINDOW_EXPIRED"
    assert server.stats()["pendingTimers"] == 0


async def test_void_a_pending_payment_cancels_its_resolution(
    sandbox_factory: SandboxFactory,
) -> None:
    server = await sandbox_factory(pending_delay_ms="fixed:60000")
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    ) as client:
        payment = await create(client, "4000000000001000")
        assert server.stats()["pendingTimers"] == 1
        voided = (await client.post(f"/v1/payments/{payment['paymentId']}/void")).json()
        assert voided["status"] == "VOIDED"
        assert [t["type"] for t in voided["transactions"]] == ["VOID"]
        assert server.stats()["pendingTimers"] == 0
        capture = await client.post(f"/v1/payments/{payment['paymentId']}/capture")
        assert capture.status_code == 409
        assert capture.json()["error"]["status"] == "VOIDED"


async def test_capture_on_pending_is_a_wrong_state(sandbox_client: httpx.AsyncClient) -> None:
    payment = await create(sandbox_client, "4000000000009999")
    response = await sandbox_client.post(f"/v1/payments/{payment['paymentId']}/capture")
    assert response.status_code == 409
    assert response.json()["error"]["status"] == "PENDING"


async def test_pending_requires_initiated_by_when_configured(sandbox_factory: SandboxFactory) -> None:
    server = await sandbox_factory(pending_requires_initiated_by=True)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    ) as client:
        direct = await create(client, "4000000000001000", reference="A", source={"storeId": "s"})
        pending = await create(client, "4000000000001000", reference="B")
    assert direct["status"] == "AUTHORIZED"
    assert pending["status"] == "PENDING"


async def test_resolve_now_through_introspection(sandbox_factory: SandboxFactory) -> None:
    server = await sandbox_factory(pending_delay_ms="fixed:60000")
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    ) as client:
        payment = await create(client, "4000000000001051")
        resolved = await client.post(f"/_sandbox/payments/{payment['paymentId']}/resolve")
        assert resolved.status_code == 200
        assert resolved.json()["status"] == "FAILED"
        again = await client.post(f"/_sandbox/payments/{payment['paymentId']}/resolve")
        assert again.status_code == 409


async def test_other_cards_follow_the_seeded_mix(sandbox_factory: SandboxFactory) -> None:
    outcomes = []
    for _ in range(2):
        server = await sandbox_factory(
            seed=42, mix_approve=0.5, mix_decline=0.5, mix_pending_approve=0.0, mix_pending_decline=0.0
        )
        async with httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}
        ) as c:
            outcomes.append(
                [(await create(c, "4111111111111111", reference=f"R{i}"))["status"] for i in range(30)]
            )
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {"AUTHORIZED", "FAILED"}


async def test_introspection_stats_listing_and_reset(
    sandbox: SandboxServer, sandbox_client: httpx.AsyncClient
) -> None:
    assert (await sandbox_client.get("/_sandbox/health")).json() == {"status": "ok"}
    await create(sandbox_client, "4444444444440000", reference="A")
    await create(sandbox_client, "4000000000000051", reference="B")
    await sandbox_client.get("/v1/payments/pay_missing")
    stats = (await sandbox_client.get("/_sandbox/stats")).json()
    assert stats["payments"] == 2
    assert stats["paymentsByStatus"] == {"AUTHORIZED": 1, "FAILED": 1}
    assert stats["requests"]["POST /v1/payments"] == {"200": 2}
    assert stats["requests"]["GET /v1/payments/{paymentId}"] == {"404": 1}
    failed = (await sandbox_client.get("/_sandbox/payments", params={"status": "FAILED"})).json()
    assert failed["count"] == 1
    assert failed["payments"][0]["merchantReference"] == "B"
    none = (await sandbox_client.get("/_sandbox/payments", params={"merchantReference": "Z"})).json()
    assert none == {"count": 0, "payments": [], "createRequests": 0}
    limited = (await sandbox_client.get("/_sandbox/payments", params={"limit": "1"})).json()
    assert limited["count"] == 2
    assert [p["merchantReference"] for p in limited["payments"]] == ["A"]
    count, [found] = sandbox.sandbox.payments("A")
    assert (count, found["status"]) == (1, "AUTHORIZED")
    assert (await sandbox_client.post("/_sandbox/reset")).status_code == 200
    stats = (await sandbox_client.get("/_sandbox/stats")).json()
    assert stats["payments"] == 0
    assert stats["requests"] == {}
    assert len(sandbox.store) == 0
