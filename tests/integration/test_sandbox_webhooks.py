"""Sandbox webhooks to a real local aiohttp receiver: events per status change, redelivery after
a non-2xx or a slow answer, giving up, duplication, reordering, token and HMAC signature."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web

from streams.sandbox import SandboxServer
from streams.sandbox.webhooks import verify_signature
from tests.fixtures.sandbox import SANDBOX_TOKEN, SandboxFactory, payment_request

pytestmark = pytest.mark.integration


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]
    query: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = orjson.loads(self.body)
        return event


@dataclass
class Receiver:
    """Records every POST; answers from `replies` (a status, or "slow"/"hold"), then 200."""

    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    replies: deque[int | str] = field(default_factory=deque)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        delivery = Delivery(await request.read(), dict(request.headers), dict(request.query))
        self.deliveries.append(delivery)
        async with self.changed:
            self.changed.notify_all()
        reply = self.replies.popleft() if self.replies else 200
        if reply == "slow":
            await asyncio.sleep(0.3)  # slower than the sandbox's ack timeout: the receiver's behaviour
            return web.Response(status=200)
        if reply == "hold":
            await self.released.wait()
            return web.Response(status=200)
        assert isinstance(reply, int)
        return web.Response(status=reply)

    async def wait_until(self, condition: Callable[[Receiver], bool], timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s), self.changed:
            await self.changed.wait_for(lambda: condition(self))

    def types(self) -> list[str]:
        return [d.event["eventType"] for d in self.deliveries]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", recv.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    recv.url = f"http://{host}:{port}/hooks"
    yield recv
    recv.released.set()
    await runner.cleanup()


def client_for(server: SandboxServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"})


async def create(client: httpx.AsyncClient, card: str = "4444444444440000", **kw: Any) -> dict[str, Any]:
    response = await client.post("/v1/payments", json=payment_request(card, **kw))
    assert response.status_code == 200, response.text
    payment: dict[str, Any] = response.json()
    return payment


async def test_every_status_change_is_an_event(sandbox_factory: SandboxFactory, receiver: Receiver) -> None:
    server = await sandbox_factory(webhook_url=receiver.url)
    async with client_for(server) as client:
        payment = await create(client, reference="A")
        await client.post(f"/v1/payments/{payment['paymentId']}/capture")
        await client.post(
            f"/v1/payments/{payment['paymentId']}/refund", json={"refundAmount": 1}
        )  # partial: none
        await client.post(f"/v1/payments/{payment['paymentId']}/refund")
        other = await create(client, reference="B")
        await client.post(f"/v1/payments/{other['paymentId']}/void")
        await create(client, "4000000000000051", reference="C")
        await create(client, "4000000000001000", reference="D")  # PENDING, then AUTHORIZED
        await client.post("/v1/payments", json=payment_request(reference="A"))  # duplicate: no event
    await receiver.wait_until(lambda r: len(r.deliveries) >= 8)
    await server.sandbox.webhooks.drain()
    by_reference: dict[str, list[str]] = {}
    for delivery in receiver.deliveries:
        event = delivery.event
        assert set(event) == {"eventId", "eventType", "payment"}
        assert delivery.headers["Content-Type"] == "application/json"
        by_reference.setdefault(event["payment"]["merchantReference"], []).append(event["eventType"])
        status = event["payment"]["status"]
        assert event["eventType"] == ("PAYMENT_CREATED" if status == "PENDING" else f"PAYMENT_{status}")
        assert b"4444444444440000" not in delivery.body
    assert by_reference["A"] == ["PAYMENT_AUTHORIZED", "PAYMENT_CAPTURED", "PAYMENT_REFUNDED"]
    assert by_reference["B"] == ["PAYMENT_AUTHORIZED", "PAYMENT_VOIDED"]
    assert by_reference["C"] == ["PAYMENT_FAILED"]
    assert sorted(by_reference["D"]) == ["PAYMENT_AUTHORIZED", "PAYMENT_CREATED"]
    assert len({d.event["eventId"] for d in receiver.deliveries}) == 8
    stats = server.stats()["webhooks"]
    assert stats["emitted"] == stats["delivered"] == stats["attempts"] == 8
    assert stats["pending"] == 0


async def test_redelivery_after_non_2xx(sandbox_factory: SandboxFactory, receiver: Receiver) -> None:
    receiver.replies.extend([500, 404])
    server = await sandbox_factory(webhook_url=receiver.url)
    async with client_for(server) as client:
        await create(client)
    await receiver.wait_until(lambda r: len(r.deliveries) == 3)
    await server.sandbox.webhooks.drain()
    assert len({d.event["eventId"] for d in receiver.deliveries}) == 1
    stats = server.stats()["webhooks"]
    assert (stats["delivered"], stats["attempts"], stats["redeliveries"], stats["failed"]) == (1, 3, 2, 0)


async def test_redelivery_after_a_slow_answer(sandbox_factory: SandboxFactory, receiver: Receiver) -> None:
    receiver.replies.append("slow")
    server = await sandbox_factory(webhook_url=receiver.url, webhook_ack_timeout_ms=100.0)
    async with client_for(server) as client:
        await create(client)
    await receiver.wait_until(lambda r: len(r.deliveries) == 2)
    await server.sandbox.webhooks.drain()
    first, second = receiver.deliveries
    assert first.body == second.body
    assert server.stats()["webhooks"]["redeliveries"] == 1


async def test_gives_up_after_the_last_attempt(sandbox_factory: SandboxFactory, receiver: Receiver) -> None:
    receiver.replies.extend([503] * 3)
    server = await sandbox_factory(webhook_url=receiver.url, webhook_max_attempts=3)
    async with client_for(server) as client:
        await create(client)
    await receiver.wait_until(lambda r: len(r.deliveries) == 3)
    await server.sandbox.webhooks.drain()
    stats = server.stats()["webhooks"]
    assert (stats["failed"], stats["delivered"], stats["attempts"]) == (1, 0, 3)


async def test_connection_errors_are_retried_then_given_up(sandbox_factory: SandboxFactory) -> None:
    server = await sandbox_factory(webhook_url="http://127.0.0.1:9/hooks", webhook_max_attempts=2)
    async with client_for(server) as client:
        await create(client)
    await server.sandbox.webhooks.drain()
    stats = server.stats()["webhooks"]
    assert (stats["failed"], stats["attempts"]) == (1, 2)


async def test_a_stuck_receiver_never_blocks_the_api(
    sandbox_factory: SandboxFactory, receiver: Receiver
) -> None:
    receiver.replies.extend(["hold"] * 10)
    server = await sandbox_factory(
        webhook_url=receiver.url, webhook_ack_timeout_ms=10_000.0, webhook_concurrency=2
    )
    async with client_for(server) as client:
        for i in range(10):
            await create(client, reference=f"R{i}")
    await receiver.wait_until(lambda r: len(r.deliveries) == 2)
    assert server.stats()["webhooks"]["pending"] == 10  # 2 in flight, 8 waiting for a slot
    receiver.released.set()
    await server.sandbox.webhooks.drain()
    assert server.stats()["webhooks"]["delivered"] == 10


async def test_duplication_flag(sandbox_factory: SandboxFactory, receiver: Receiver) -> None:
    server = await sandbox_factory(webhook_url=receiver.url, webhook_duplicate_rate=1.0)
    async with client_for(server) as client:
        await create(client, reference="A")
        await create(client, reference="B")
    await receiver.wait_until(lambda r: len(r.deliveries) == 4)
    await server.sandbox.webhooks.drain()
    ids = [d.event["eventId"] for d in receiver.deliveries]
    assert len(set(ids)) == 2
    assert all(ids.count(i) == 2 for i in ids)
    assert server.stats()["webhooks"]["duplicated"] == 2


async def test_reordering_flag(sandbox_factory: SandboxFactory, receiver: Receiver) -> None:
    server = await sandbox_factory(
        webhook_url=receiver.url, webhook_reorder_rate=0.5, webhook_reorder_hold_ms=150.0, seed=1
    )
    async with client_for(server) as client:
        for i in range(12):
            payment = await create(client, reference=f"R{i}")
            await client.post(f"/v1/payments/{payment['paymentId']}/capture")
    await receiver.wait_until(lambda r: len(r.deliveries) == 24)
    await server.sandbox.webhooks.drain()
    order: dict[str, list[str]] = {}
    for delivery in receiver.deliveries:
        event = delivery.event
        order.setdefault(event["payment"]["merchantReference"], []).append(event["eventType"])
    overtaken = [ref for ref, types in order.items() if types == ["PAYMENT_CAPTURED", "PAYMENT_AUTHORIZED"]]
    assert overtaken, order
    assert server.stats()["webhooks"]["reordered"] > 0


async def test_token_and_hmac_signature(sandbox_factory: SandboxFactory, receiver: Receiver) -> None:
    server = await sandbox_factory(
        webhook_url=receiver.url + "?tenant=t1", webhook_token="wh-token", webhook_hmac_secret="wh-secret"
    )
    async with client_for(server) as client:
        await create(client)
    await receiver.wait_until(lambda r: len(r.deliveries) == 1)
    [delivery] = receiver.deliveries
    assert delivery.query == {"tenant": "t1", "token": "wh-token"}
    header = delivery.headers["Paymend-Signature"]
    assert verify_signature("wh-secret", header, delivery.body, now=time.time())
    assert not verify_signature("other", header, delivery.body, now=time.time())


async def test_no_signature_or_token_unless_configured(
    sandbox_factory: SandboxFactory, receiver: Receiver
) -> None:
    server = await sandbox_factory(webhook_url=receiver.url)
    async with client_for(server) as client:
        await create(client)
    await receiver.wait_until(lambda r: len(r.deliveries) == 1)
    assert "Paymend-Signature" not in receiver.deliveries[0].headers
    assert receiver.deliveries[0].query == {}
