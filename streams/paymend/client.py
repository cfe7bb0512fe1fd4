"""`PaymendClient`: the one long-lived async HTTP client to Paymend's five endpoints.

Owns: the connection (a `streams.paymend.wire.Wire`: raw aiohttp by default, httpx with
`PAYMEND_HTTP_CLIENT=httpx`, with explicit timeouts and pool size from Settings), authentication,
the request-id header, JSON encoding, the retry loop, per-attempt DEBUG logging and the optional
call observer. Status codes and library exceptions are translated in `streams.paymend.translate`;
nothing library-typed leaves this class.

Headers. Every request carries `Authorization: Bearer <token>` (added per request, so the token is
never in the connection's default headers), `Accept: application/json` and `request-id`.
Requests with a body add `Content-Type: application/json`; a full capture, a void and a full
refund send no body at all (the manage-payments page: "No body should be sent", C2).

request-id. One uuid4 per *logical* call, the same on every retry of it, so that Paymend's logs
(its commons library reads `request-id`, paymend-api.md Appendix A) group the attempts of one
call; the attempt number is in our log line. A caller may pass its own `request_id`.

Retries (see `streams.paymend.retry`). Connect errors, timeouts, broken connections, 429 and 5xx
are retried up to `RetryPolicy.attempts` with full-jitter backoff, waiting through the injected
`sleep`; other 4xx and protocol errors are raised at once. Replays, per operation:
- create_payment re-sends the identical bytes, so the same merchantReference: Paymend is assumed
  to deduplicate on it (Appendix B) and cannot create a second payment.
- get_payment, void, and capture / refund of the full amount are safe to replay: at worst the
  replay is refused because the first attempt already moved the payment on. When a call raises
  `PaymendRejected` with `attempts > 1`, call `get_payment` before concluding it failed.
- capture / refund with a partial `amount` are retried only when Paymend certainly did not act
  (no connection was made, or 429): Paymend allows several partial operations, so a replay could
  move money twice. Otherwise `PaymendUnavailable(maybe_processed=True)` is raised; reconcile
  with `get_payment` (its `transactions`) before trying again.

Duplicate merchantReference. If create raises `PaymendConflict` (the sandbox's 409 mode), a payment
with that merchantReference exists already, most likely from an earlier attempt whose answer was
lost. The API has no lookup by merchantReference (§3.6), so the caller must: use the paymentId it
recorded for that reference, if any, and `get_payment` it; otherwise mark the recovery as created
with an unknown id and wait for the webhook (it carries merchantReference), alerting if none
arrives in the recovery window. It must never create again under a new merchantReference: that
could charge the consumer twice.

Logging: one DEBUG line per attempt (operation, method, path, attempt, outcome, elapsed,
request-id); never a body, never a header.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self
from urllib.parse import quote

import httpx
import orjson

from streams import __version__
from streams.paymend.errors import CallContext, PaymendError, PaymendUnavailable
from streams.paymend.models import PaymentRequest
from streams.paymend.responses import PaymentResponse
from streams.paymend.retry import RetryPolicy, should_retry
from streams.paymend.translate import TRANSPORT_ERRORS, error_from_exception, outcome_of, result_from_response
from streams.paymend.wire import AiohttpWire, HttpxWire, Timeouts, Wire
from streams.settings import ConfigurationError, Secret, Settings

if TYPE_CHECKING:
    from streams.paymend.port import PaymendPort

__all__ = ["CallObserver", "PaymendClient", "Sleep"]

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class CallObserver(Protocol):
    """Told about every attempt: operation ('create_payment', 'get_payment', 'capture', 'void',
    'refund'), outcome ('2xx', '4xx', '5xx', ..., 'connect', 'timeout', 'network', 'error',
    'cancelled') and
    elapsed seconds. All three are bounded, fit for metric labels. Must not raise."""

    def __call__(self, operation: str, outcome: str, seconds: float, /) -> None: ...


@dataclass(frozen=True, slots=True)
class _Call:
    """One logical call: what to send, and what may never show up in a message."""

    operation: str
    method: str
    path: str
    context: CallContext
    body: bytes | None = field(default=None, repr=False)
    replay_safe: bool = True
    secrets: tuple[str, ...] = field(default=(), repr=False)


class PaymendClient:
    """Async client of the Paymend API. Create once per process; use as `async with` or `aclose()`.

    Conforms to `streams.paymend.port.PaymendPort`. Safe for concurrent calls.
    """

    def __init__(
        self,
        base_url: str,
        token: Secret,
        *,
        timeouts: Timeouts,
        max_connections: int,
        retry: RetryPolicy,
        http_client: str = "aiohttp",
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        observer: CallObserver | None = None,
    ) -> None:
        """`http_client`: "aiohttp" or "httpx"; a `transport` (tests' fault injection) implies httpx."""
        url = httpx.URL(base_url)
        if url.scheme not in {"http", "https"} or not url.host:
            raise ConfigurationError("the Paymend base URL must be an http:// or https:// URL with a host")
        self._base_url = str(url)
        self._token = token
        self._retry = retry
        self._sleep = sleep
        self._random = random
        self._clock = clock
        self._observer = observer
        headers = {"Accept": "application/json", "User-Agent": f"paymend-streams/{__version__}"}
        self._wire: Wire
        if transport is not None or http_client == "httpx":
            self._wire = HttpxWire(
                self._base_url,
                timeouts=timeouts,
                max_connections=max_connections,
                headers=headers,
                transport=transport,
            )
        elif http_client == "aiohttp":
            self._wire = AiohttpWire(
                self._base_url, timeouts=timeouts, max_connections=max_connections, headers=headers
            )
        else:
            raise ConfigurationError(f"PAYMEND_HTTP_CLIENT must be aiohttp or httpx, not {http_client!r}")

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        observer: CallObserver | None = None,
    ) -> PaymendClient:
        """The client the worker uses: URL, token, timeouts, pool size, HTTP library and retries from
        `settings`. Raises ConfigurationError when PAYMEND_API_TOKEN is missing."""
        return cls(
            settings.paymend_url,
            settings.require_paymend_token(),
            timeouts=Timeouts(
                connect_s=settings.paymend_connect_timeout_s,
                read_s=settings.paymend_read_timeout_s,
                pool_s=settings.paymend_pool_timeout_s,
            ),
            max_connections=settings.paymend_max_connections,
            retry=RetryPolicy.from_settings(settings),
            http_client=settings.paymend_http_client,
            transport=transport,
            sleep=sleep,
            random=random,
            observer=observer,
        )

    def __repr__(self) -> str:
        return f"PaymendClient(base_url={self._base_url!r}, retry={self._retry!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        await self._wire.aclose()

    # --- the five endpoints -------------------------------------------------------------------

    async def create_payment(
        self, request: PaymentRequest, *, request_id: str | None = None
    ) -> PaymentResponse:
        """`POST /v1/payments`: create and authorize (or sell, with captureNow) a payment."""
        context = self._context("create_payment", request_id, merchant_reference=request.merchant_reference)
        body = orjson.dumps(request.to_json())
        return await self._run(
            _Call("create_payment", "POST", "/v1/payments", context, body=body, secrets=request.secrets)
        )

    async def get_payment(self, payment_id: str, *, request_id: str | None = None) -> PaymentResponse:
        """`GET /v1/payments/{paymentId}`: the payment as Paymend sees it now."""
        context = self._context("get_payment", request_id, payment_id=payment_id)
        return await self._run(_Call("get_payment", "GET", _path(payment_id), context))

    async def capture(
        self, payment_id: str, amount: int | None = None, *, request_id: str | None = None
    ) -> PaymentResponse:
        """`POST …/capture`: capture the full authorization (no body), or `amount` minor units."""
        return await self._amount_call("capture", "captureAmount", payment_id, amount, request_id)

    async def void(self, payment_id: str, *, request_id: str | None = None) -> PaymentResponse:
        """`POST …/void`: cancel a PENDING or AUTHORIZED payment (no body)."""
        context = self._context("void", request_id, payment_id=payment_id)
        return await self._run(_Call("void", "POST", _path(payment_id, "void"), context))

    async def refund(
        self, payment_id: str, amount: int | None = None, *, request_id: str | None = None
    ) -> PaymentResponse:
        """`POST …/refund`: refund the full capture (no body), or `amount` minor units."""
        return await self._amount_call("refund", "refundAmount", payment_id, amount, request_id)

    # --- machinery ----------------------------------------------------------------------------

    def _context(
        self,
        operation: str,
        request_id: str | None,
        *,
        payment_id: str | None = None,
        merchant_reference: str | None = None,
    ) -> CallContext:
        return CallContext(
            operation=operation,
            request_id=request_id or str(uuid.uuid4()),
            payment_id=payment_id,
            merchant_reference=merchant_reference,
        )

    async def _amount_call(
        self, operation: str, key: str, payment_id: str, amount: int | None, request_id: str | None
    ) -> PaymentResponse:
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 1):
            raise ValueError(f"{operation} amount must be an integer of at least 1 (minor units)")
        context = self._context(operation, request_id, payment_id=payment_id)
        body = None if amount is None else orjson.dumps({key: amount})
        path = _path(payment_id, operation)
        return await self._run(_Call(operation, "POST", path, context, body=body, replay_safe=amount is None))

    async def _run(self, call: _Call) -> PaymentResponse:
        attempt = 0
        while True:
            attempt += 1
            context = replace(call.context, attempts=attempt)
            try:
                return await self._attempt(call, context)
            except PaymendError as error:
                if not (
                    self._retry.allows_retry_after(attempt)
                    and should_retry(error, replay_safe=call.replay_safe)
                ):
                    raise
                retry_after = error.retry_after if isinstance(error, PaymendUnavailable) else None
                await self._sleep(self._retry.delay(attempt, retry_after=retry_after, random=self._random))

    async def _attempt(self, call: _Call, context: CallContext) -> PaymentResponse:
        headers = {"Authorization": f"Bearer {self._token.reveal()}", "request-id": context.request_id}
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        secrets = (*call.secrets, self._token.reveal())
        outcome = "error"
        started = time.perf_counter()
        try:
            response = await self._wire.request(call.method, call.path, body=call.body, headers=headers)
            outcome = outcome_of(response.status_code)
        except TRANSPORT_ERRORS as exc:
            error = error_from_exception(exc, context, secrets=secrets)
            outcome = error.kind if isinstance(error, PaymendUnavailable) else "error"
            raise error from exc
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            elapsed = time.perf_counter() - started
            logger.debug(
                "paymend %s %s %s attempt=%d/%d outcome=%s elapsed=%.3fs request-id=%s",
                call.operation,
                call.method,
                call.path,
                context.attempts,
                self._retry.attempts,
                outcome,
                elapsed,
                context.request_id,
            )
            if self._observer is not None:
                self._observer(call.operation, outcome, elapsed)
        return result_from_response(response, context, secrets=secrets, clock=self._clock)


def _path(payment_id: str, action: str | None = None) -> str:
    if not isinstance(payment_id, str) or not payment_id:
        raise ValueError("payment_id must be a non-empty string")
    path = f"/v1/payments/{quote(payment_id, safe='')}"
    return path if action is None else f"{path}/{action}"


if TYPE_CHECKING:

    def _conforms(client: PaymendClient) -> PaymendPort:
        return client
