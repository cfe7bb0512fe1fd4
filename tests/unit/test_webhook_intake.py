"""The webhook endpoint's request handling, on a real aiohttp server but without faust or Kafka.

Order of checks (size, token, signature, body, write), what each answers, what is written and
what is counted; and `TopicWriter`'s timeout, background completion and overload refusal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

import schemas
from streams.metrics import Metrics
from streams.settings import Secret, Settings
from streams.web.auth import sign
from streams.web.webhook import TopicWriter, WebhookIntake, WriteRefused, parse_event
from tests.unit.schema_samples import PAN, sample

NOW = 1_700_000_000.0
RECEIVED = datetime(2025, 11, 6, 9, 0, 1, tzinfo=UTC)
TOKEN = "url-token-123"
KEYS = ("key-old", "key-new")
PATH = "/webhooks/paymend"


def event_body(reference: str = "PAY-1001", **top: Any) -> bytes:
    data = sample(schemas.PaymendWebhookEvent)
    del data["receivedAt"], data["schemaVersion"]
    data["payment"]["merchantReference"] = reference
    data.update(top)
    return orjson.dumps(data)


def signed(body: bytes, key: str = KEYS[0], timestamp: int = int(NOW)) -> dict[str, str]:
    return {"Paymend-Signature": f"t={timestamp},v1={sign(key.encode(), timestamp, body)}"}


class FakeWriter:
    """Records writes; `fail` (an exception instance) is raised instead when set."""

    def __init__(self) -> None:
        self.writes: list[tuple[bytes, bytes]] = []
        self.fail: BaseException | None = None

    async def __call__(self, key: bytes, value: bytes) -> None:
        if self.fail is not None:
            raise self.fail
        self.writes.append((key, value))


class Endpoint:
    def __init__(self, client: httpx.AsyncClient, writer: FakeWriter, metrics: Metrics) -> None:
        self.client, self.writer, self.metrics = client, writer, metrics

    async def post(
        self, body: bytes, *, token: str | None = TOKEN, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        params = {"token": token} if token is not None else {}
        return await self.client.post(
            PATH, content=body, params=params, headers=signed(body) if headers is None else headers
        )

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float:
        value = self.metrics.registry.get_sample_value(name, labels or {})
        return 0.0 if value is None else value


EndpointFactory = Callable[..., Awaitable[Endpoint]]


@pytest.fixture
async def endpoint_factory() -> AsyncIterator[EndpointFactory]:
    servers: list[TestServer] = []
    clients: list[httpx.AsyncClient] = []

    async def make(**settings: Any) -> Endpoint:
        values: dict[str, Any] = {
            "webhook_token": Secret(TOKEN),
            "webhook_hmac_secrets": Secret(",".join(KEYS)),
            "webhook_max_body_bytes": 4096,
            **settings,
        }
        writer, metrics = FakeWriter(), Metrics(CollectorRegistry())
        intake = WebhookIntake(Settings(**values), writer, metrics, clock=lambda: RECEIVED, wall=lambda: NOW)
        app = web.Application()
        app.router.add_post(PATH, intake.handle)
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        client = httpx.AsyncClient(base_url=str(server.make_url("")), timeout=5.0)
        clients.append(client)
        return Endpoint(client, writer, metrics)

    yield make
    for client in clients:
        await client.aclose()
    for server in servers:
        await server.close()


@pytest.fixture
async def endpoint(endpoint_factory: EndpointFactory) -> Endpoint:
    return await endpoint_factory()


# --- accepted --------------------------------------------------------------------------------


async def test_a_valid_event_is_written_keyed_by_merchant_reference(endpoint: Endpoint) -> None:
    body = event_body("PAY-42")
    response = await endpoint.post(body)

    assert response.status_code == 200
    assert response.json() == {"status": "accepted", "eventId": "evt_01"}
    [(key, value)] = endpoint.writer.writes
    assert key == b"PAY-42"
    event = schemas.PaymendWebhookEvent.decode(value)
    assert event.event_id == "evt_01"
    assert event.received_at == RECEIVED
    assert event.payment.merchant_reference == "PAY-42"
    assert endpoint.sample("paymend_streams_webhooks_received_total") == 1
    assert endpoint.sample("paymend_streams_webhooks_written_total") == 1
    assert (
        endpoint.sample("paymend_streams_webhook_request_duration_seconds_count", {"status_class": "2xx"})
        == 1
    )


async def test_the_second_key_of_a_rotation_is_accepted(endpoint: Endpoint) -> None:
    body = event_body()
    response = await endpoint.post(body, headers=signed(body, KEYS[1]))
    assert response.status_code == 200


async def test_without_auth_settings_nothing_is_checked(endpoint_factory: EndpointFactory) -> None:
    endpoint = await endpoint_factory(webhook_token=None, webhook_hmac_secrets=None)
    response = await endpoint.client.post(PATH, content=event_body())
    assert response.status_code == 200


async def test_unknown_fields_with_card_data_are_kept_masked(endpoint: Endpoint) -> None:
    body = event_body(cardHint=f"card {PAN}")
    assert (await endpoint.post(body)).status_code == 200
    [(_, value)] = endpoint.writer.writes
    assert PAN.encode() not in value


# --- refused ---------------------------------------------------------------------------------


async def test_too_large_is_413_before_anything_else(endpoint: Endpoint) -> None:
    body = b"x" * 5000
    response = await endpoint.post(body, token="wrong")  # the size is checked first
    assert response.status_code == 413
    assert response.json()["reason"] == "too_large"
    assert endpoint.sample("paymend_streams_webhooks_rejected_total", {"reason": "too_large"}) == 1


async def test_too_large_without_content_length_is_413(endpoint: Endpoint) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    response = await endpoint.client.post(PATH, content=chunks(), params={"token": TOKEN})
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("token", "reason"), [("wrong", "bad_token"), (None, "missing_token"), (TOKEN + "x", "bad_token")]
)
async def test_bad_token_is_401(endpoint: Endpoint, token: str | None, reason: str) -> None:
    response = await endpoint.post(event_body(), token=token)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.json()["reason"] == reason
    assert TOKEN not in response.text
    assert endpoint.writer.writes == []
    assert endpoint.sample("paymend_streams_webhooks_rejected_total", {"reason": "auth"}) == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_signature"),
        ({"Paymend-Signature": "nonsense"}, "malformed_signature"),
        ("wrong-key", "bad_signature"),
        ("stale", "stale_signature"),
        ("other-body", "bad_signature"),
    ],
)
async def test_bad_signature_is_401(endpoint: Endpoint, headers: Any, reason: str) -> None:
    body = event_body()
    if headers == "wrong-key":
        headers = signed(body, "not-a-key")
    elif headers == "stale":
        headers = signed(body, timestamp=int(NOW) - 301)
    elif headers == "other-body":
        headers = signed(body + b" ")
    response = await endpoint.post(body, headers=headers)
    assert response.status_code == 401
    assert response.json()["reason"] == reason
    assert endpoint.writer.writes == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "PaymendWebhookEvent: is not UTF-8 JSON"),
        (b"{not json", "PaymendWebhookEvent: is not UTF-8 JSON"),
        (b"[1, 2]", "PaymendWebhookEvent: must be a JSON object"),
        (event_body(eventId=None), "PaymendWebhookEvent.eventId"),
        (event_body(eventType="PAYMENT_EXPLODED"), "PaymendWebhookEvent.eventType"),
        (event_body(payment={"paymentId": "pm_1", "status": "FAILED"}), "merchantReference: is required"),
    ],
)
async def test_invalid_bodies_are_400_naming_the_problem(
    endpoint: Endpoint, body: bytes, detail: str
) -> None:
    response = await endpoint.post(body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_body"
    assert detail in response.json()["detail"]
    assert endpoint.writer.writes == []
    assert endpoint.sample("paymend_streams_webhooks_rejected_total", {"reason": "invalid"}) == 1


async def test_a_400_never_echoes_the_received_values(endpoint: Endpoint) -> None:
    body = event_body(eventId=PAN * 20)  # too long: invalid, and it is a card number
    response = await endpoint.post(body)
    assert response.status_code == 400
    assert PAN not in response.text


# --- write failures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (TimeoutError(), "write_timeout"),
        (RuntimeError("broker gone"), "write_failed"),
        (WriteRefused("too many"), "overloaded"),
    ],
)
async def test_write_failures_are_503(endpoint: Endpoint, error: BaseException, reason: str) -> None:
    endpoint.writer.fail = error
    response = await endpoint.post(event_body())
    assert response.status_code == 503
    assert response.json() == {"error": "unavailable", "reason": reason, "detail": response.json()["detail"]}
    assert endpoint.sample("paymend_streams_webhooks_rejected_total", {"reason": "unavailable"}) == 1
    assert endpoint.sample("paymend_streams_webhooks_written_total") == 0


async def test_the_body_is_never_logged(endpoint: Endpoint, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = event_body("PAY-LOG", cardHint=f"card {PAN}")
    await endpoint.post(body)
    endpoint.writer.fail = TimeoutError()
    await endpoint.post(body)
    await endpoint.post(b"{broken " + PAN.encode())
    text = caplog.text
    assert "evt_01" in text
    assert "PAY-LOG" in text
    assert PAN not in text
    assert "cardHint" not in text


def test_parse_event_stamps_received_at() -> None:
    event = parse_event(event_body(), RECEIVED)
    assert event.received_at == RECEIVED
    assert event.message_key == "PAY-1001"


# --- TopicWriter -----------------------------------------------------------------------------


class FakeTopic:
    """`send` returns a future the test resolves (or never does); `sent` is set on every send."""

    def __init__(self) -> None:
        self.deliveries: list[asyncio.Future[object]] = []
        self.sent = asyncio.Event()

    async def send(self, *, key: bytes, value: bytes) -> asyncio.Future[object]:
        delivery: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.deliveries.append(delivery)
        self.sent.set()
        return delivery

    async def next_delivery(self) -> asyncio.Future[object]:
        self.sent.clear()
        await asyncio.wait_for(self.sent.wait(), 1.0)
        return self.deliveries[-1]


async def test_topic_writer_returns_after_the_ack() -> None:
    topic = FakeTopic()
    writer = TopicWriter(topic, 1.0)  # type: ignore[arg-type]
    task = asyncio.create_task(writer(b"k", b"v"))
    delivery = await topic.next_delivery()
    assert not task.done()
    delivery.set_result("metadata")
    await task
    assert writer.pending == 0


async def test_topic_writer_times_out_but_lets_the_delivery_finish() -> None:
    topic = FakeTopic()
    writer = TopicWriter(topic, 0.05)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        await writer(b"k", b"v")
    assert writer.pending == 1
    [delivery] = topic.deliveries
    assert not delivery.cancelled()  # faust would fail setting the result of a cancelled future
    delivery.set_result("late ack")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert writer.pending == 0


async def test_topic_writer_refuses_when_too_many_writes_are_pending() -> None:
    topic = FakeTopic()
    writer = TopicWriter(topic, 0.01, max_pending=2)  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(TimeoutError):
            await writer(b"k", b"v")
    with pytest.raises(WriteRefused):
        await writer(b"k", b"v")
    for delivery in topic.deliveries:
        delivery.set_exception(RuntimeError("failed later"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert writer.pending == 0
    task = asyncio.create_task(writer(b"k", b"v"))  # accepted again once they are done
    (await topic.next_delivery()).set_result("ok")
    await task
