"""PaymendClient against httpx.MockTransport: requests, error translation, retries, secrecy.

No test waits: the client's sleep is a fake that records the delays it was asked for, and the
jitter draw is fixed at 0.5. The last tests use the real AiohttpTransport on loopback sockets.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from httpx_aiohttp import AiohttpTransport

from streams.paymend import (
    PaymendClient,
    PaymendConflict,
    PaymendError,
    PaymendInvalidRequest,
    PaymendNotFound,
    PaymendProtocolError,
    PaymendRejected,
    PaymendUnauthorized,
    PaymendUnavailable,
    PaymentResponse,
    PaymentStatus,
)
from streams.paymend.wire import AiohttpWire, HttpxWire
from streams.settings import ConfigurationError, Secret, Settings
from tests.unit.paymend_builders import CVV, PAN, TOKEN, payment_json, payment_request

BASE = "http://paymend.test"
Step = Callable[[httpx.Request], httpx.Response]


def reply(
    status: int = 200, body: Any = None, *, headers: dict[str, str] | None = None, raw: bytes = b""
) -> Step:
    content = raw if body is None else orjson.dumps(body)
    return lambda request: httpx.Response(status, content=content, headers=headers)


def fail(exc_type: type[httpx.TransportError], message: str = "simulated") -> Step:
    def step(request: httpx.Request) -> httpx.Response:
        raise exc_type(message, request=request)

    return step


OK = reply(200, payment_json())


class Script:
    """A MockTransport handler that plays its steps in order (repeating the last) and records."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps[min(len(self.requests), len(self.steps)) - 1]
        return step(request)


class Harness:
    def __init__(self, *steps: Step, attempts: int = 3, **kwargs: Any) -> None:
        self.script = Script(*steps)
        self.delays: list[float] = []
        self.observed: list[tuple[str, str, float]] = []
        settings = Settings(
            paymend_api_token=Secret(TOKEN),
            paymend_base_url=BASE,
            paymend_retry_attempts=attempts,
            paymend_retry_base_s=0.1,
            paymend_retry_max_s=2.0,
        )
        self.client = PaymendClient.from_settings(
            settings,
            transport=httpx.MockTransport(self.script),
            sleep=self._sleep,
            random=lambda: 0.5,
            observer=lambda op, outcome, seconds: self.observed.append((op, outcome, seconds)),
            **kwargs,
        )

    async def _sleep(self, delay: float) -> None:
        self.delays.append(delay)

    @property
    def requests(self) -> list[httpx.Request]:
        return self.script.requests


@pytest.fixture
async def harness_factory() -> AsyncIterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(*steps: Step, **kwargs: Any) -> Harness:
        made.append(Harness(*steps, **kwargs))
        return made[-1]

    yield make
    for harness in made:
        await harness.client.aclose()


# --- what goes on the wire --------------------------------------------------------------------


async def test_create_sends_the_payment_with_auth_and_request_id(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(OK)
    request = payment_request()
    response = await h.client.create_payment(request)

    assert response == PaymentResponse.from_json(payment_json())
    (sent,) = h.requests
    assert (sent.method, str(sent.url)) == ("POST", f"{BASE}/v1/payments")
    assert orjson.loads(sent.content) == request.to_json()
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert uuid.UUID(sent.headers["request-id"]).version == 4


@pytest.mark.parametrize(
    ("call", "method", "path", "body"),
    [
        (lambda c: c.get_payment("pay_1"), "GET", "/v1/payments/pay_1", None),
        (lambda c: c.capture("pay_1"), "POST", "/v1/payments/pay_1/capture", None),
        (lambda c: c.capture("pay_1", 750), "POST", "/v1/payments/pay_1/capture", {"captureAmount": 750}),
        (lambda c: c.void("pay_1"), "POST", "/v1/payments/pay_1/void", None),
        (lambda c: c.refund("pay_1"), "POST", "/v1/payments/pay_1/refund", None),
        (lambda c: c.refund("pay_1", 500), "POST", "/v1/payments/pay_1/refund", {"refundAmount": 500}),
        (lambda c: c.get_payment("a/b?c"), "GET", "/v1/payments/a%2Fb%3Fc", None),
    ],
)
async def test_follow_up_endpoints(
    harness_factory: Callable[..., Harness], call: Any, method: str, path: str, body: Any
) -> None:
    h = harness_factory(OK)
    response = await call(h.client)
    assert response.status is PaymentStatus.AUTHORIZED
    (sent,) = h.requests
    assert sent.method == method
    assert sent.url.raw_path.decode() == path
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "request-id" in sent.headers
    if body is None:
        assert sent.content == b""
        assert "Content-Type" not in sent.headers
    else:
        assert orjson.loads(sent.content) == body
        assert sent.headers["Content-Type"] == "application/json"


async def test_each_logical_call_gets_its_own_request_id(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(OK)
    await h.client.get_payment("p")
    await h.client.get_payment("p")
    await h.client.get_payment("p", request_id="evt-42")
    ids = [r.headers["request-id"] for r in h.requests]
    assert ids[0] != ids[1]
    assert ids[2] == "evt-42"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.capture("p", 0), "capture amount"),
        (lambda c: c.refund("p", True), "refund amount"),
        (lambda c: c.refund("p", -5), "refund amount"),
        (lambda c: c.get_payment(""), "payment_id"),
        (lambda c: c.void(""), "payment_id"),
    ],
)
async def test_impossible_arguments_raise_value_error_without_a_request(
    harness_factory: Callable[..., Harness], call: Any, message: str
) -> None:
    h = harness_factory(OK)
    with pytest.raises(ValueError, match=message):
        await call(h.client)
    assert h.requests == []


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, PaymendInvalidRequest),
        (401, PaymendUnauthorized),
        (403, PaymendRejected),
        (404, PaymendNotFound),
        (409, PaymendConflict),
        (422, PaymendInvalidRequest),
    ],
)
async def test_4xx_raise_the_matching_rejection_without_retry(
    harness_factory: Callable[..., Harness], status: int, error_type: type[PaymendRejected]
) -> None:
    h = harness_factory(reply(status, {"message": "nope"}))
    with pytest.raises(PaymendRejected) as caught:
        await h.client.capture("pay_1")
    error = caught.value
    assert type(error) is error_type
    assert error.status == status
    assert (error.operation, error.payment_id, error.attempts) == ("capture", "pay_1", 1)
    assert error.request_id == h.requests[0].headers["request-id"]
    assert f"HTTP {status}" in str(error)
    assert "paymentId=pay_1" in str(error)
    assert len(h.requests) == 1
    assert h.delays == []


async def test_duplicate_reference_on_create_is_a_conflict_with_the_reference(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(reply(409, {"error": {"code": "DUPLICATE_MERCHANT_REFERENCE", "message": "exists"}}))
    with pytest.raises(PaymendConflict) as caught:
        await h.client.create_payment(payment_request("ORDER-7"))
    assert caught.value.merchant_reference == "ORDER-7"
    assert caught.value.error_code == "DUPLICATE_MERCHANT_REFERENCE"
    assert "merchantReference=ORDER-7" in str(caught.value)


async def test_error_bodies_echoing_card_data_or_token_are_scrubbed(
    harness_factory: Callable[..., Harness],
) -> None:
    echo = {
        "code": "VALIDATION_ERROR",
        "field": "paymentMethod.card.number",
        "message": f"card 4444 4444 4444 0000 / {PAN} with cvv {CVV} rejected for {TOKEN}",
        "rejected": {"number": int(PAN), "cvv": CVV},
    }
    h = harness_factory(reply(400, echo))
    with pytest.raises(PaymendInvalidRequest) as caught:
        await h.client.create_payment(payment_request())
    error = caught.value
    assert error.error_code == "VALIDATION_ERROR"
    assert error.error_field == "paymentMethod.card.number"
    everything = f"{error} {error!r} {error.error_body!r} {error.args!r}"
    for secret in (PAN, "4444 4444 4444 0000", CVV, TOKEN):
        assert secret not in everything
    assert "[redacted]" in str(error)


# --- transient failures and retries -----------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_are_retried_up_to_the_cap(harness_factory: Callable[..., Harness], status: int) -> None:
    h = harness_factory(reply(status), attempts=3)
    with pytest.raises(PaymendUnavailable) as caught:
        await h.client.get_payment("pay_1")
    assert (caught.value.status, caught.value.kind, caught.value.attempts) == (status, "status", 3)
    assert len(h.requests) == 3
    assert h.delays == pytest.approx([0.05, 0.1])  # jitter 0.5 x (0.1, 0.2)


async def test_a_retry_that_succeeds_returns_the_payment(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(reply(502), reply(503), OK, attempts=5)
    response = await h.client.void("pay_1")
    assert response.payment_id == "pay_0123456789"
    assert len(h.requests) == 3
    assert len({r.headers["request-id"] for r in h.requests}) == 1
    assert [outcome for _, outcome, _ in h.observed] == ["5xx", "5xx", "2xx"]
    assert {op for op, _, _ in h.observed} == {"void"}


async def test_429_waits_at_least_its_retry_after(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(reply(429, headers={"Retry-After": "1"}), OK)
    await h.client.get_payment("pay_1")
    assert h.delays == [1.0]


async def test_retry_after_is_capped_and_carried_by_the_error(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(reply(429, headers={"Retry-After": "30"}), attempts=2)
    with pytest.raises(PaymendUnavailable) as caught:
        await h.client.get_payment("pay_1")
    assert h.delays == [2.0]
    assert caught.value.retry_after == 30.0
    assert caught.value.status == 429
    assert caught.value.maybe_processed is False


async def test_retry_after_as_a_date_is_measured_from_the_servers_date(
    harness_factory: Callable[..., Harness],
) -> None:
    server_now = datetime(2025, 12, 15, 10, 0, 0, tzinfo=UTC)
    headers = {
        "Date": format_datetime(server_now, usegmt=True),
        "Retry-After": format_datetime(server_now + timedelta(seconds=1), usegmt=True),
    }
    h = harness_factory(reply(503, headers=headers), OK)
    await h.client.get_payment("pay_1")
    assert h.delays == [1.0]


@pytest.mark.parametrize(
    ("exc_type", "kind", "maybe_processed"),
    [
        (httpx.ConnectError, "connect", False),
        (httpx.ConnectTimeout, "connect", False),
        (httpx.PoolTimeout, "connect", False),
        (httpx.ReadTimeout, "timeout", True),
        (httpx.WriteTimeout, "timeout", True),
        (httpx.ReadError, "network", True),
        (httpx.RemoteProtocolError, "network", True),
    ],
)
async def test_transport_failures_are_retried_then_translated(
    harness_factory: Callable[..., Harness],
    exc_type: type[httpx.TransportError],
    kind: str,
    maybe_processed: bool,
) -> None:
    h = harness_factory(fail(exc_type), attempts=3)
    with pytest.raises(PaymendUnavailable) as caught:
        await h.client.get_payment("pay_1")
    error = caught.value
    assert not isinstance(error, httpx.HTTPError)
    assert isinstance(error.__cause__, exc_type)
    assert (error.kind, error.maybe_processed, error.attempts, error.status) == (
        kind,
        maybe_processed,
        3,
        None,
    )
    assert len(h.requests) == 3
    assert len(h.delays) == 2


async def test_a_create_retried_after_a_timeout_resends_the_identical_body(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(fail(httpx.ReadTimeout), reply(503), OK, attempts=3)
    request = payment_request("ORDER-99")
    response = await h.client.create_payment(request)
    assert response.status is PaymentStatus.AUTHORIZED
    assert len(h.requests) == 3
    assert len({r.content for r in h.requests}) == 1
    assert {orjson.loads(r.content)["merchantReference"] for r in h.requests} == {"ORDER-99"}
    assert len({r.headers["request-id"] for r in h.requests}) == 1
    assert [outcome for _, outcome, _ in h.observed] == ["timeout", "5xx", "2xx"]


@pytest.mark.parametrize("call", [lambda c: c.refund("p", 500), lambda c: c.capture("p", 750)])
async def test_partial_amounts_are_not_replayed_when_paymend_may_have_acted(
    harness_factory: Callable[..., Harness], call: Any
) -> None:
    h = harness_factory(fail(httpx.ReadTimeout), OK, attempts=3)
    with pytest.raises(PaymendUnavailable) as caught:
        await call(h.client)
    assert caught.value.maybe_processed is True
    assert len(h.requests) == 1


async def test_partial_amounts_are_retried_when_nothing_reached_paymend(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(fail(httpx.ConnectError), reply(429), OK, attempts=3)
    await h.client.refund("p", 500)
    assert len(h.requests) == 3


async def test_a_full_refund_is_replayed_after_a_timeout(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(fail(httpx.ReadTimeout), OK, attempts=3)
    await h.client.refund("p")
    assert len(h.requests) == 2


async def test_one_attempt_means_no_retry(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(reply(503), attempts=1)
    with pytest.raises(PaymendUnavailable):
        await h.client.get_payment("p")
    assert (len(h.requests), h.delays) == (1, [])


# --- answers that make no sense -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (reply(200, raw=b"<html>OK</html>"), "HTTP 200 without a JSON object body"),
        (reply(200, [payment_json()]), "without a JSON object body"),
        (reply(201, payment_json("SETTLED")), "unknown status 'SETTLED'"),
        (reply(200, {"status": "CAPTURED"}), "paymentId: missing"),
        (reply(302, headers={"Location": "https://elsewhere.test/"}), "unexpected HTTP 302"),
    ],
)
async def test_unusable_answers_are_protocol_errors_without_retry(
    harness_factory: Callable[..., Harness], step: Step, message: str
) -> None:
    h = harness_factory(step)
    with pytest.raises(PaymendProtocolError, match=message) as caught:
        await h.client.capture("pay_1")
    assert caught.value.operation == "capture"
    assert len(h.requests) == 1


async def test_an_unsupported_scheme_is_refused_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="http:// or https://"):
        PaymendClient.from_settings(Settings(paymend_api_token=Secret(TOKEN), paymend_base_url="ftp://x"))


async def test_a_missing_token_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="PAYMEND_API_TOKEN"):
        PaymendClient.from_settings(Settings(paymend_base_url=BASE))


# --- secrecy --------------------------------------------------------------------------------------


async def test_logs_show_one_line_per_attempt_and_no_card_data_or_token(
    harness_factory: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = harness_factory(fail(httpx.ReadTimeout), reply(503), reply(400, {"message": f"bad {PAN} {CVV}"}))
    with pytest.raises(PaymendInvalidRequest) as caught:
        await h.client.create_payment(payment_request(), request_id="req-1")

    ours = [r for r in caplog.records if r.name == "streams.paymend.client"]
    assert len(ours) == 3
    assert all(r.levelno == logging.DEBUG for r in ours)
    assert "create_payment POST /v1/payments attempt=1/3 outcome=timeout" in ours[0].getMessage()
    assert "outcome=4xx" in ours[2].getMessage()
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records) + caplog.text
    shown = f"{caught.value} {caught.value!r} {h.client!r} {payment_request()!r}"
    for secret in (PAN, CVV, TOKEN):
        assert secret not in logged
        assert secret not in shown


async def test_the_client_repr_hides_the_token(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(OK)
    assert (
        repr(h.client)
        == f"PaymendClient(base_url='{BASE}', retry=RetryPolicy(attempts=3, base_s=0.1, max_s=2.0))"
    )


# --- the real transport (loopback only) ---------------------------------------------------------


async def test_the_default_wire_is_raw_aiohttp_with_the_configured_pool_and_timeouts() -> None:
    settings = Settings(paymend_api_token=Secret(TOKEN), paymend_base_url=BASE, paymend_max_connections=7)
    async with PaymendClient.from_settings(settings) as client:
        wire = client._wire
        assert isinstance(wire, AiohttpWire)
        session = wire._session or wire._open()
        assert session.connector is not None
        assert session.connector.limit == 7
        assert (session.timeout.sock_connect, session.timeout.sock_read, session.timeout.connect) == (
            2.0,
            10.0,
            7.0,
        )


async def test_the_httpx_wire_uses_the_aiohttp_transport_with_the_configured_pool() -> None:
    settings = Settings(
        paymend_api_token=Secret(TOKEN),
        paymend_base_url=BASE,
        paymend_max_connections=7,
        paymend_http_client="httpx",
    )
    async with PaymendClient.from_settings(settings) as client:
        wire = client._wire
        assert isinstance(wire, HttpxWire)
        transport = wire._http._transport
        assert isinstance(transport, AiohttpTransport)
        assert transport.limits.max_connections == 7
        assert wire._http.timeout == httpx.Timeout(connect=2.0, read=10.0, write=10.0, pool=5.0)


WIRES = pytest.mark.parametrize("wire", ["aiohttp", "httpx"])


@WIRES
async def test_a_round_trip_over_a_real_connection(wire: str) -> None:
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    async def capture(request: web.Request) -> web.Response:
        seen.append((request.method, request.path, dict(request.headers), await request.read()))
        return web.json_response(payment_json("CAPTURED"))

    app = web.Application()
    app.router.add_post("/v1/payments/{payment_id}/capture", capture)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        settings = Settings(
            paymend_api_token=Secret(TOKEN),
            paymend_base_url=str(server.make_url("/")),
            paymend_http_client=wire,
        )
        async with PaymendClient.from_settings(settings) as client:
            response = await client.capture("pay_1", 750, request_id="req-rt")
    finally:
        await server.close()
    assert response.status is PaymentStatus.CAPTURED
    ((method, path, headers, body),) = seen
    assert (method, path, body) == ("POST", "/v1/payments/pay_1/capture", b'{"captureAmount":750}')
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["request-id"] == "req-rt"
    assert headers["Content-Type"] == "application/json"


@WIRES
async def test_connection_refused_is_unavailable_and_never_connected(wire: str) -> None:
    with socket.socket() as closed:  # bound, not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        settings = Settings(
            paymend_api_token=Secret(TOKEN),
            paymend_base_url=f"http://127.0.0.1:{port}",
            paymend_retry_attempts=2,
            paymend_http_client=wire,
        )
        delays: list[float] = []

        async def sleep(delay: float) -> None:
            delays.append(delay)

        async with PaymendClient.from_settings(settings, sleep=sleep) as client:
            with pytest.raises(PaymendUnavailable) as caught:
                await client.get_payment("pay_1")
    assert (caught.value.kind, caught.value.maybe_processed, caught.value.attempts) == ("connect", False, 2)
    assert len(delays) == 1
    assert not isinstance(caught.value, httpx.HTTPError)


@WIRES
async def test_a_server_disconnect_counts_as_maybe_processed(wire: str) -> None:
    # httpx-aiohttp reports a server disconnect as httpx.ConnectTimeout; it is not a connect failure.
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = Settings(
            paymend_api_token=Secret(TOKEN),
            paymend_base_url=f"http://127.0.0.1:{port}",
            paymend_retry_attempts=1,
            paymend_http_client=wire,
        )
        async with PaymendClient.from_settings(settings) as client:
            with pytest.raises(PaymendError) as caught:
                await client.refund("pay_1", 500)
    finally:
        server.close()
        await server.wait_closed()
    assert isinstance(caught.value, PaymendUnavailable)
    assert (caught.value.kind, caught.value.maybe_processed) == ("network", True)
