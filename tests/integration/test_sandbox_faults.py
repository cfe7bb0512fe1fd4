"""Sandbox fault injection over HTTP: 5xx, 429, dropped connections, timeouts, latency, and the
"fail after commit" faults whose state change survives the failed answer."""

from typing import Any

import httpx
import pytest

from streams.sandbox import SandboxServer
from tests.fixtures.sandbox import SANDBOX_TOKEN, SandboxFactory, payment_request

pytestmark = pytest.mark.integration


def client_for(server: SandboxServer, timeout: float = 5.0) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    return httpx.AsyncClient(base_url=server.url, headers=headers, timeout=timeout)


async def test_5xx_changes_nothing(sandbox_factory: SandboxFactory) -> None:
    server = await sandbox_factory(fault_error_rate=1.0, fault_error_status=502)
    async with client_for(server) as client:
        response = await client.post("/v1/payments", json=payment_request())
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert len(server.store) == 0
    assert server.store.create_requests("ORDER-1") == 0
    assert server.stats()["faultsInjected"] == {"error": 1}


async def test_429_carries_retry_after(sandbox_factory: SandboxFactory) -> None:
    server = await sandbox_factory(fault_rate_limit_rate=1.0, fault_retry_after_ms=2500.0)
    async with client_for(server) as client:
        response = await client.get("/v1/payments/pay_x")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json()["error"]["code"] == "RATE_LIMITED"


async def test_dropped_connection_changes_nothing(sandbox_factory: SandboxFactory) -> None:
    server = await sandbox_factory(fault_drop_rate=1.0)
    async with client_for(server) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/v1/payments", json=payment_request())
    assert len(server.store) == 0
    assert server.stats()["requests"]["POST /v1/payments"] == {"dropped": 1}


async def test_timeout_fault_outlasts_the_client(sandbox_factory: SandboxFactory) -> None:
    server = await sandbox_factory(fault_timeout_rate=1.0, fault_timeout_ms=30_000.0)
    async with client_for(server, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/v1/payments", json=payment_request())
    assert len(server.store) == 0  # and stopping the server does not wait the 30 s out


@pytest.mark.parametrize("action", ["commit-error", "commit-drop"])
async def test_fail_after_commit_then_idempotent_redrive(sandbox: SandboxServer, action: str) -> None:
    sandbox.sandbox.faults.script([action])
    async with client_for(sandbox) as client:
        if action == "commit-error":
            first = await client.post("/v1/payments", json=payment_request(reference="ORDER-7"))
            assert first.status_code == 503
        else:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post("/v1/payments", json=payment_request(reference="ORDER-7"))
        _, [stored] = sandbox.sandbox.payments("ORDER-7")  # the create did happen
        redrive = await client.post("/v1/payments", json=payment_request(reference="ORDER-7"))
    assert redrive.status_code == 200
    assert redrive.json()["paymentId"] == stored["paymentId"]
    assert len(sandbox.store) == 1
    assert sandbox.store.create_requests("ORDER-7") == 2


async def test_capture_committed_before_a_5xx(sandbox_client: httpx.AsyncClient) -> None:
    payment = (await sandbox_client.post("/v1/payments", json=payment_request())).json()
    script = await sandbox_client.post("/_sandbox/faults/script", json={"actions": ["commit-error"]})
    assert script.json() == {"scripted": ["commit-error"]}
    capture = await sandbox_client.post(f"/v1/payments/{payment['paymentId']}/capture")
    assert capture.status_code == 503
    got = (await sandbox_client.get(f"/v1/payments/{payment['paymentId']}")).json()
    assert got["status"] == "CAPTURED"


async def test_faults_change_at_run_time(sandbox_client: httpx.AsyncClient) -> None:
    patched = await sandbox_client.patch(
        "/_sandbox/faults", json={"fault_error_rate": 1, "latency_ms": "fixed:30"}
    )
    assert patched.status_code == 200
    assert patched.json()["fault_error_rate"] == 1
    assert patched.json()["latency_ms"] == "fixed:30"
    response = await sandbox_client.get("/v1/payments/pay_x")
    assert response.status_code == 503
    assert response.elapsed.total_seconds() >= 0.03
    restored = await sandbox_client.patch("/_sandbox/faults", json={"fault_error_rate": 0.0})
    assert restored.json()["fault_error_rate"] == 0.0
    assert (await sandbox_client.get("/v1/payments/pay_x")).status_code == 404
    current = (await sandbox_client.get("/_sandbox/faults")).json()
    assert current["latency_ms"] == "fixed:30"


@pytest.mark.parametrize(
    "body",
    [{"token": "x"}, {"fault_error_rate": 2}, {"fault_error_rate": "high"}, {"latency_ms": "soon"}, ["x"]],
)
async def test_invalid_fault_changes_are_refused(sandbox_client: httpx.AsyncClient, body: Any) -> None:
    response = await sandbox_client.patch("/_sandbox/faults", json=body)
    assert response.status_code == 400
    bad_script = await sandbox_client.post("/_sandbox/faults/script", json={"actions": ["explode"]})
    assert bad_script.status_code == 400


async def test_seeded_fault_mix_is_reproducible(sandbox_factory: SandboxFactory) -> None:
    runs = []
    for _ in range(2):
        server = await sandbox_factory(seed=3, fault_error_rate=0.3, fault_rate_limit_rate=0.2)
        async with client_for(server) as client:
            runs.append([(await client.get("/v1/payments/pay_x")).status_code for _ in range(40)])
    assert runs[0] == runs[1]
    assert {404, 429, 503} == set(runs[0])
