"""The real PaymendClient against the real sandbox simulator, over loopback HTTP.

No mock transport: the client is built by `PaymendClient.from_settings` with its default
AiohttpTransport, pointed at a `SandboxServer` on a free port. Retries use a fast policy (10 ms base,
50 ms cap) and the real `asyncio.sleep`; the sleeps are also recorded so a test can check them.
Faults are forced per request with the sandbox's script (`faults.script([...])`), so every sequence
is deterministic. PENDING resolutions are awaited with the store's waiters, never with a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from streams.paymend import (
    Failure,
    GoodsType,
    PaymendClient,
    PaymendConflict,
    PaymendInvalidRequest,
    PaymendNotFound,
    PaymendUnauthorized,
    PaymendUnavailable,
    PaymentMethod,
    PaymentRequest,
    PaymentResponse,
    PaymentStatus,
    TransactionResult,
    TransactionType,
)
from streams.sandbox import SandboxServer
from streams.settings import Secret, Settings
from tests.fixtures.sandbox import SANDBOX_TOKEN, SandboxFactory
from tests.unit.paymend_builders import CVV, PAN, card
from tests.unit.paymend_builders import payment_request as typed_request

pytestmark = pytest.mark.integration

AMOUNT = 4999  # the builders' amount
RETRY_MAX_S = 0.05
PENDING_APPROVE = "4000000000001000"
PENDING_FOREVER = "4000000000009999"  # PENDING until the recovery window (10 s in tests) ends


@dataclass
class Calls:
    """What one client did: each attempt's (operation, outcome), and each backoff it slept."""

    attempts: list[tuple[str, str]] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def observe(self, operation: str, outcome: str, seconds: float) -> None:
        self.attempts.append((operation, outcome))

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        await asyncio.sleep(delay)


ClientFactory = Callable[..., Awaitable[PaymendClient]]


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
async def client_factory(calls: Calls) -> AsyncIterator[ClientFactory]:
    """`await client_factory(server, token=..., attempts=..., read_timeout_s=...)`; closed at teardown."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(
            server: SandboxServer,
            *,
            token: str = SANDBOX_TOKEN,
            attempts: int = 4,
            read_timeout_s: float = 5.0,
        ) -> PaymendClient:
            settings = Settings(
                paymend_base_url=server.url,
                paymend_api_token=Secret(token),
                paymend_connect_timeout_s=2.0,
                paymend_read_timeout_s=read_timeout_s,
                paymend_retry_attempts=attempts,
                paymend_retry_base_s=0.01,
                paymend_retry_max_s=RETRY_MAX_S,
            )
            client = PaymendClient.from_settings(settings, sleep=calls.sleep, observer=calls.observe)
            return await stack.enter_async_context(client)

        yield make


@pytest.fixture
async def client(sandbox: SandboxServer, client_factory: ClientFactory) -> PaymendClient:
    return await client_factory(sandbox)


def request(number: str = PAN, reference: str = "ORDER-1", **overrides: Any) -> PaymentRequest:
    """The builders' typed request (CVV 7351, MERCHANT-initiated, DIGITAL) with another card."""
    return typed_request(reference, payment_method=PaymentMethod(card(number)), **overrides)


def kinds(payment: PaymentResponse) -> list[tuple[str, str]]:
    return [(str(t.type), str(t.result)) for t in payment.transactions or ()]


def payments_with(server: SandboxServer, reference: str) -> list[str]:
    """The ids of every stored payment carrying `reference` (a scan, not the one-per-reference index)."""
    return [p.payment_id for p in server.store if p.merchant_reference == reference]


def endpoint_answers(server: SandboxServer, endpoint: str) -> dict[str, int]:
    answers: dict[str, int] = server.stats()["requests"].get(endpoint, {})
    return answers


CREATE = "POST /v1/payments"


# --- every endpoint ---------------------------------------------------------------------------


async def test_create_authorizes_and_returns_the_masked_card(
    sandbox: SandboxServer, client: PaymendClient
) -> None:
    payment = await client.create_payment(request(reference="ORDER-AUTH"))

    assert payment.status is PaymentStatus.AUTHORIZED
    assert payment.payment_id.startswith("pay_")
    assert (payment.merchant_reference, payment.amount, payment.currency) == ("ORDER-AUTH", AMOUNT, "EUR")
    assert (payment.capture_now, payment.goods_type, payment.failure) == (False, GoodsType.DIGITAL, None)
    assert payment.source is not None
    assert payment.source.store_id == "store_abc123"
    assert payment.payment_method is not None
    assert payment.payment_method.type == "CARD"
    assert payment.payment_method.card is not None
    assert payment.payment_method.card.bin == PAN[:8]
    assert payment.payment_method.card.brand == "VISA"
    assert payment.payment_method.card.cvv_present_during_attempt is True
    assert kinds(payment) == [("AUTHORIZATION", "SUCCEEDED")]
    assert payment.transactions is not None
    assert payment.transactions[0].amount == AMOUNT
    assert payment.created_at
    assert payment.updated_at
    # Neither the PAN nor the CVV comes back: not in the typed value, not in the sandbox's JSON.
    _, [stored] = sandbox.sandbox.payments("ORDER-AUTH")
    for shown in (repr(payment), orjson.dumps(stored).decode()):
        assert PAN not in shown
        assert CVV not in shown


async def test_create_with_capture_now_is_a_sale(client: PaymendClient) -> None:
    payment = await client.create_payment(request(capture_now=True))

    assert payment.status is PaymentStatus.CAPTURED
    assert payment.capture_now is True
    assert kinds(payment) == [("AUTHORIZATION", "SUCCEEDED"), ("CAPTURE", "SUCCEEDED")]


@pytest.mark.parametrize(
    ("number", "failure_code", "provider_code"),
    [("4000000000000051", "INSUFFICIENT_FUNDS", "51"), ("4000000000000005", "DO_NOT_HONOR", "05")],
)
async def test_a_decline_is_a_failed_payment_not_an_error(
    client: PaymendClient, number: str, failure_code: str, provider_code: str
) -> None:
    payment = await client.create_payment(request(number))

    assert payment.status is PaymentStatus.FAILED
    assert payment.failure == Failure(failure_code, provider_code)
    assert payment.transactions is not None
    (authorization,) = payment.transactions
    assert authorization.type is TransactionType.AUTHORIZATION
    assert authorization.result is TransactionResult.FAILED
    assert authorization.failure == payment.failure
    assert payment.payment_method is not None
    assert payment.payment_method.card is not None
    assert payment.payment_method.card.bin == number[:8]


async def test_a_pending_payment_resolves_and_get_shows_it(
    sandbox: SandboxServer, client: PaymendClient
) -> None:
    created = await client.create_payment(request(PENDING_APPROVE))
    assert created.status is PaymentStatus.PENDING
    assert created.transactions is None  # PENDING payments carry none
    assert created.failure is None

    await sandbox.store.wait_for_status(created.payment_id, "AUTHORIZED", timeout_s=5)
    payment = await client.get_payment(created.payment_id)

    assert payment.status is PaymentStatus.AUTHORIZED
    assert (payment.payment_id, payment.merchant_reference) == (created.payment_id, "ORDER-1")
    assert kinds(payment) == [("AUTHORIZATION", "SUCCEEDED")]


async def test_a_pending_decline_resolves_to_failed(sandbox: SandboxServer, client: PaymendClient) -> None:
    created = await client.create_payment(request("4000000000001051"))
    assert created.status is PaymentStatus.PENDING

    await sandbox.store.wait_for(created.payment_id, lambda p: p.status != "PENDING", timeout_s=5)
    payment = await client.get_payment(created.payment_id)

    assert payment.status is PaymentStatus.FAILED
    assert payment.failure == Failure("INSUFFICIENT_FUNDS", "51")


async def test_capture_the_full_authorization(client: PaymendClient) -> None:
    created = await client.create_payment(request())
    payment = await client.capture(created.payment_id)

    assert payment.status is PaymentStatus.CAPTURED
    assert kinds(payment) == [("AUTHORIZATION", "SUCCEEDED"), ("CAPTURE", "SUCCEEDED")]
    assert payment.transactions is not None
    assert payment.transactions[-1].amount == AMOUNT


async def test_a_failed_capture_keeps_the_payment_authorized(client: PaymendClient) -> None:
    created = await client.create_payment(request("4000000000002000"))  # every capture fails
    payment = await client.capture(created.payment_id)

    assert payment.status is PaymentStatus.AUTHORIZED
    assert kinds(payment) == [("AUTHORIZATION", "SUCCEEDED"), ("CAPTURE", "FAILED")]
    assert payment.transactions is not None
    assert payment.transactions[-1].failure == Failure("SYSTEM_MALFUNCTION", "96")


async def test_void_an_authorized_payment(client: PaymendClient) -> None:
    created = await client.create_payment(request())
    payment = await client.void(created.payment_id)

    assert payment.status is PaymentStatus.VOIDED
    assert kinds(payment) == [("AUTHORIZATION", "SUCCEEDED"), ("VOID", "SUCCEEDED")]


async def test_void_a_pending_payment_stops_its_resolution(
    sandbox: SandboxServer, client: PaymendClient
) -> None:
    created = await client.create_payment(request(PENDING_FOREVER))
    assert created.status is PaymentStatus.PENDING
    assert len(sandbox.sandbox.service.scheduler) == 1

    payment = await client.void(created.payment_id)

    assert payment.status is PaymentStatus.VOIDED
    assert kinds(payment) == [("VOID", "SUCCEEDED")]
    assert len(sandbox.sandbox.service.scheduler) == 0  # its timer is gone: it stays VOIDED
    assert (await client.get_payment(created.payment_id)).status is PaymentStatus.VOIDED


async def test_a_partial_then_the_remaining_refund(client: PaymendClient) -> None:
    created = await client.create_payment(request(capture_now=True))

    partial = await client.refund(created.payment_id, 1000)
    assert partial.status is PaymentStatus.CAPTURED  # the sandbox's choice for a partial refund (C6)
    assert partial.transactions is not None
    assert (partial.transactions[-1].type, partial.transactions[-1].amount) == (TransactionType.REFUND, 1000)

    rest = await client.refund(created.payment_id)
    assert rest.status is PaymentStatus.REFUNDED
    assert rest.transactions is not None
    assert [t.amount for t in rest.transactions if t.type is TransactionType.REFUND] == [1000, AMOUNT - 1000]


async def test_a_full_refund(client: PaymendClient) -> None:
    created = await client.create_payment(request(capture_now=True))
    payment = await client.refund(created.payment_id)

    assert payment.status is PaymentStatus.REFUNDED
    assert kinds(payment)[-1] == ("REFUND", "SUCCEEDED")
    assert payment.transactions is not None
    assert payment.transactions[-1].amount == AMOUNT


# --- rejections -------------------------------------------------------------------------------


async def test_a_wrong_token_is_unauthorized_and_not_retried(
    sandbox: SandboxServer, client_factory: ClientFactory, calls: Calls
) -> None:
    client = await client_factory(sandbox, token="not-the-sandbox-token")
    with pytest.raises(PaymendUnauthorized) as caught:
        await client.create_payment(request())

    assert (caught.value.status, caught.value.error_code, caught.value.attempts) == (401, "UNAUTHORIZED", 1)
    assert calls.attempts == [("create_payment", "4xx")]
    assert len(sandbox.store) == 0
    assert "not-the-sandbox-token" not in f"{caught.value} {caught.value!r} {caught.value.error_body}"


async def test_an_invalid_field_is_named(sandbox: SandboxServer, client: PaymendClient) -> None:
    # The client model takes any non-empty merchantReference; the sandbox caps it at 255 characters.
    with pytest.raises(PaymendInvalidRequest) as caught:
        await client.create_payment(request(reference="R" * 256))

    error = caught.value
    assert (error.status, error.error_code) == (400, "VALIDATION_ERROR")
    assert error.error_field == "merchantReference"
    assert "on merchantReference" in str(error)
    assert error.attempts == 1
    assert len(sandbox.store) == 0


async def test_an_excessive_capture_amount_is_named(client: PaymendClient) -> None:
    created = await client.create_payment(request())
    with pytest.raises(PaymendInvalidRequest) as caught:
        await client.capture(created.payment_id, AMOUNT + 1)

    assert (caught.value.error_field, caught.value.payment_id) == ("captureAmount", created.payment_id)


async def test_an_unknown_payment_is_not_found(client: PaymendClient) -> None:
    with pytest.raises(PaymendNotFound) as caught:
        await client.get_payment("pay_doesnotexist")

    assert (caught.value.status, caught.value.error_code) == (404, "NOT_FOUND")
    assert caught.value.payment_id == "pay_doesnotexist"


async def test_voiding_a_captured_payment_is_a_conflict(client: PaymendClient) -> None:
    created = await client.create_payment(request(capture_now=True))
    with pytest.raises(PaymendConflict) as caught:
        await client.void(created.payment_id)

    assert (caught.value.status, caught.value.error_code, caught.value.attempts) == (409, "INVALID_STATE", 1)
    assert caught.value.error_body is not None
    assert caught.value.error_body["error"]["status"] == "CAPTURED"
    assert (await client.get_payment(created.payment_id)).status is PaymentStatus.CAPTURED


# --- retries with injected faults -------------------------------------------------------------


async def test_a_503_then_success(sandbox: SandboxServer, client: PaymendClient, calls: Calls) -> None:
    sandbox.sandbox.faults.script(["error"])
    payment = await client.create_payment(request())

    assert payment.status is PaymentStatus.AUTHORIZED
    assert calls.attempts == [("create_payment", "5xx"), ("create_payment", "2xx")]
    assert len(calls.sleeps) == 1
    assert endpoint_answers(sandbox, CREATE) == {"503": 1, "200": 1}
    assert payments_with(sandbox, "ORDER-1") == [payment.payment_id]


async def test_a_429_waits_for_its_retry_after_then_succeeds(
    sandbox: SandboxServer, client: PaymendClient, calls: Calls
) -> None:
    created = await client.create_payment(request())
    sandbox.sandbox.faults.script(["rate-limit"])  # Retry-After: 1 (whole seconds)

    payment = await client.get_payment(created.payment_id)

    assert payment.status is PaymentStatus.AUTHORIZED
    assert calls.attempts[1:] == [("get_payment", "4xx"), ("get_payment", "2xx")]
    # Jitter alone stays under the 10 ms base; Retry-After (1 s) is the floor, capped at RETRY_MAX_S.
    assert calls.sleeps == [RETRY_MAX_S]


async def test_a_dropped_connection_is_retried(
    sandbox: SandboxServer, client: PaymendClient, calls: Calls
) -> None:
    sandbox.sandbox.faults.script(["drop"])  # before any state change
    payment = await client.create_payment(request())

    assert payment.status is PaymentStatus.AUTHORIZED
    assert calls.attempts == [("create_payment", "network"), ("create_payment", "2xx")]
    assert endpoint_answers(sandbox, CREATE) == {"dropped": 1, "200": 1}
    assert payments_with(sandbox, "ORDER-1") == [payment.payment_id]
    assert sandbox.store.create_requests("ORDER-1") == 1


async def test_a_timeout_is_retried(
    sandbox_factory: SandboxFactory, client_factory: ClientFactory, calls: Calls
) -> None:
    server = await sandbox_factory(fault_timeout_ms=1000.0)  # stalls past the client's read timeout
    client = await client_factory(server, read_timeout_s=0.4)
    server.sandbox.faults.script(["timeout"])

    payment = await client.create_payment(request())

    assert payment.status is PaymentStatus.AUTHORIZED
    assert calls.attempts == [("create_payment", "timeout"), ("create_payment", "2xx")]
    assert payments_with(server, "ORDER-1") == [payment.payment_id]


@pytest.mark.parametrize("action", ["commit-error", "commit-drop"])
async def test_a_create_lost_after_commit_is_redriven_into_the_same_payment(
    sandbox: SandboxServer, client: PaymendClient, calls: Calls, action: str
) -> None:
    sandbox.sandbox.faults.script([action])  # Paymend creates the payment, the answer is lost
    payment = await client.create_payment(request(reference="ORDER-LOST"))

    failed_outcome = "5xx" if action == "commit-error" else "network"
    assert calls.attempts == [("create_payment", failed_outcome), ("create_payment", "2xx")]
    assert sandbox.store.create_requests("ORDER-LOST") == 2  # the retry re-sent the same reference
    assert payments_with(sandbox, "ORDER-LOST") == [payment.payment_id]  # and found the one payment
    assert len(sandbox.store) == 1
    count, [stored] = sandbox.sandbox.payments("ORDER-LOST")
    assert (count, stored["paymentId"], stored["status"]) == (1, payment.payment_id, "AUTHORIZED")
    assert payment.status is PaymentStatus.AUTHORIZED


async def test_a_lost_create_in_conflict_mode_names_the_existing_payment(
    sandbox_factory: SandboxFactory, client_factory: ClientFactory
) -> None:
    server = await sandbox_factory(duplicate_reference="conflict")
    client = await client_factory(server)
    server.sandbox.faults.script(["commit-error"])

    with pytest.raises(PaymendConflict) as caught:
        await client.create_payment(request(reference="ORDER-DUP"))

    [payment_id] = payments_with(server, "ORDER-DUP")
    error = caught.value
    assert (error.error_code, error.attempts) == ("DUPLICATE_MERCHANT_REFERENCE", 2)
    assert error.error_body is not None
    assert error.error_body["error"]["paymentId"] == payment_id


@pytest.mark.parametrize(("idempotent_replays", "replay_refused"), [(False, True), (True, False)])
async def test_a_full_capture_lost_after_commit_is_replayed(
    sandbox_factory: SandboxFactory,
    client_factory: ClientFactory,
    idempotent_replays: bool,
    replay_refused: bool,
) -> None:
    server = await sandbox_factory(idempotent_replays=idempotent_replays)
    client = await client_factory(server)
    created = await client.create_payment(request())
    server.sandbox.faults.script(["commit-error"])

    if replay_refused:  # the replay finds it CAPTURED: the documented cue to look before concluding
        with pytest.raises(PaymendConflict) as caught:
            await client.capture(created.payment_id)
        assert caught.value.attempts == 2
        payment = await client.get_payment(created.payment_id)
    else:
        payment = await client.capture(created.payment_id)

    assert payment.status is PaymentStatus.CAPTURED
    assert kinds(payment) == [("AUTHORIZATION", "SUCCEEDED"), ("CAPTURE", "SUCCEEDED")]  # captured once


async def test_a_partial_refund_is_not_replayed_when_paymend_may_have_acted(
    sandbox: SandboxServer, client: PaymendClient, calls: Calls
) -> None:
    created = await client.create_payment(request(capture_now=True))
    sandbox.sandbox.faults.script(["commit-error"])

    with pytest.raises(PaymendUnavailable) as caught:
        await client.refund(created.payment_id, 1000)

    assert (caught.value.maybe_processed, caught.value.attempts, caught.value.status) == (True, 1, 503)
    payment = await client.get_payment(created.payment_id)
    assert [t.amount for t in payment.transactions or () if t.type is TransactionType.REFUND] == [1000]


async def test_a_partial_refund_is_retried_after_a_429(
    sandbox: SandboxServer, client: PaymendClient, calls: Calls
) -> None:
    created = await client.create_payment(request(capture_now=True))
    sandbox.sandbox.faults.script(["rate-limit"])

    payment = await client.refund(created.payment_id, 1000)

    assert calls.attempts[1:] == [("refund", "4xx"), ("refund", "2xx")]
    assert [t.amount for t in payment.transactions or () if t.type is TransactionType.REFUND] == [1000]


async def test_retries_exhausted_raise_unavailable_with_the_attempts(
    sandbox: SandboxServer, client_factory: ClientFactory, calls: Calls
) -> None:
    client = await client_factory(sandbox, attempts=3)
    sandbox.sandbox.faults.script(["error", "drop", "error"])

    with pytest.raises(PaymendUnavailable) as caught:
        await client.create_payment(request(reference="ORDER-DOWN"))

    error = caught.value
    assert (error.attempts, error.kind, error.status, error.maybe_processed) == (3, "status", 503, True)
    assert "attempts=3" in str(error)
    assert error.merchant_reference == "ORDER-DOWN"
    assert [outcome for _, outcome in calls.attempts] == ["5xx", "network", "5xx"]
    assert len(calls.sleeps) == 2
    assert len(sandbox.store) == 0


# --- secrecy ----------------------------------------------------------------------------------


async def test_no_card_data_or_token_in_any_log_record(
    sandbox: SandboxServer,
    client: PaymendClient,
    calls: Calls,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every logger's records
    sandbox.sandbox.faults.script(["error", "drop", "commit-error"])

    payment = await client.create_payment(request(reference="ORDER-LOGS"), request_id="req-logs")
    with pytest.raises(PaymendInvalidRequest):
        await client.create_payment(request(reference="R" * 256))

    assert payment.status is PaymentStatus.AUTHORIZED
    assert [outcome for _, outcome in calls.attempts] == ["5xx", "network", "5xx", "2xx", "4xx"]
    ours = [r for r in caplog.records if r.name == "streams.paymend.client"]
    assert len(ours) == 5
    assert all("request-id=req-logs" in r.getMessage() for r in ours[:4])
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.msg} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    logged += caplog.text
    # The card's digits count as logged wherever they stand as a number of their own; the CVV's
    # four digits also occur by chance inside a logged float (elapsed=0.00084179799887351...).
    for secret in (PAN, CVV):
        assert re.search(rf"(?<!\d){secret}(?!\d)", logged) is None, secret
    assert SANDBOX_TOKEN not in logged
