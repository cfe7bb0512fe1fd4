"""The webhook endpoint: POST `WEBHOOK_PATH` -> the raw webhook topic, answered after Kafka's ack.

One request, in this order (the first failure answers):

1. Size: a body over `WEBHOOK_MAX_BODY_BYTES` -> 413 (by Content-Length before reading, or
   while reading).
2. Auth -> 401: the URL token (`WEBHOOK_TOKEN`), then the signature (`WEBHOOK_HMAC_SECRETS`);
   see `streams.web.auth`.
3. Parse and validate as `PaymendWebhookEvent` -> 400 with `{"error": "invalid_body",
   "detail": "<field path>: <what was expected>"}`; nothing is written (the 400 tells the sender;
   a dead letter would only duplicate it). Schema errors never quote the received value.
4. Write `event.encode()` keyed by `payment.merchantReference` and wait for the broker's ack,
   at most `WEBHOOK_WRITE_TIMEOUT_S` -> 200 `{"status": "accepted", "eventId": ...}`. No ack in
   time, a producer error, or too many writes still pending -> 503: Paymend redelivers, and the
   state agent deduplicates on eventId (a write that timed out may still land: at least once).

Paymend asks for a 2xx within 500 ms (paymend-api.md §6); the write timeout (0.35 s) keeps the
answer inside that. The body is never logged (unknown fields may hold card data); log lines carry
eventId, eventType and merchantReference only. The view is a thin faust `View` around
`WebhookIntake`, which depends only on aiohttp's request type, a `Writer` and `Metrics`, so it is
tested without faust.

Metrics: `webhooks_received_total` per request; `webhooks_rejected_total{reason}` per refusal,
with the fine reason of the answer (`bad_token`, `stale_signature`, `write_timeout`, ...) mapped
onto the metric's four (`REJECTION_REASONS`); `webhooks_written_total` per 200;
`webhook_request_duration_seconds{status_class}` per answer; `webhook_lag_seconds` from the
payment's `updatedAt` to our receipt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol, cast

import faust
import orjson
from aiohttp import web
from faust.web import Request, Response, View

from schemas.errors import SchemaError
from schemas.paymend import PaymendWebhookEvent
from streams.metrics import Metrics, WebhookRejection
from streams.settings import Settings
from streams.web.auth import check_signature, check_token

__all__ = [
    "REJECTION_REASONS",
    "TopicWriter",
    "WebhookIntake",
    "WriteRefused",
    "Writer",
    "parse_event",
    "read_limited",
    "webhook_view",
]

logger = logging.getLogger(__name__)

#: Every refusal reason (in answers and logs) -> its `webhooks_rejected_total{reason}` label.
REJECTION_REASONS: Final[Mapping[str, WebhookRejection]] = {
    "too_large": WebhookRejection.TOO_LARGE,
    "missing_token": WebhookRejection.AUTH,
    "bad_token": WebhookRejection.AUTH,
    "missing_signature": WebhookRejection.AUTH,
    "malformed_signature": WebhookRejection.AUTH,
    "stale_signature": WebhookRejection.AUTH,
    "bad_signature": WebhookRejection.AUTH,
    "invalid_body": WebhookRejection.INVALID,
    "write_timeout": WebhookRejection.UNAVAILABLE,
    "write_failed": WebhookRejection.UNAVAILABLE,
    "overloaded": WebhookRejection.UNAVAILABLE,
}

#: Writes still waiting for an ack (including ones whose request already got its 503) before new
#: requests are refused at once: bounds memory while the broker stalls.
DEFAULT_MAX_PENDING_WRITES: Final = 1024

_READ_CHUNK: Final = 65_536
#: The `error` field of an answer, by status (otherwise the reason itself).
_ERRORS: Final = {401: "unauthorized", 503: "unavailable"}


class WriteRefused(Exception):
    """The write was not attempted: too many writes are still waiting for the broker."""


class Writer(Protocol):
    """Writes one record and returns once the broker acknowledged it.

    Raises TimeoutError when no ack came in time, WriteRefused when overloaded, any other
    Exception on a producer error.
    """

    async def __call__(self, key: bytes, value: bytes) -> None: ...


class TopicWriter:
    """`Writer` onto a faust topic: `await topic.send(...)`, then the returned future (the ack).

    Both steps run under one deadline (`timeout_s`), in the request's own task (no task per
    write: this is the endpoint's hot path). Enqueueing may be cancelled by the deadline (nothing
    was queued then); the delivery future never is (it is awaited through `asyncio.shield`):
    cancelling faust's delivery future would make faust fail when the ack arrives later. A write
    that timed out after it was queued thus goes on in the background (and may still land);
    `max_pending` bounds how many do.
    """

    def __init__(
        self, topic: faust.types.TopicT, timeout_s: float, *, max_pending: int = DEFAULT_MAX_PENDING_WRITES
    ) -> None:
        self._topic = topic
        self._timeout_s = timeout_s
        self._max_pending = max_pending
        self._pending: set[asyncio.Future[Any]] = set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def __call__(self, key: bytes, value: bytes) -> None:
        if len(self._pending) >= self._max_pending:
            raise WriteRefused(f"{len(self._pending)} writes are still waiting for the broker")
        async with asyncio.timeout(self._timeout_s):
            delivery = asyncio.ensure_future(await self._topic.send(key=key, value=value))
            self._pending.add(delivery)
            delivery.add_done_callback(self._done)
            await asyncio.shield(delivery)

    def _done(self, delivery: asyncio.Future[Any]) -> None:
        self._pending.discard(delivery)
        if not delivery.cancelled() and (exc := delivery.exception()) is not None:
            logger.debug("background webhook write failed: %s", type(exc).__name__)


async def read_limited(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to exceed `limit` bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def parse_event(body: bytes, received_at: datetime) -> PaymendWebhookEvent:
    """The validated event; raises `schemas.errors.SchemaError` naming the field at fault."""
    return PaymendWebhookEvent.from_paymend_body(body, received_at)


@dataclass(frozen=True, slots=True)
class _Auth:
    token: str | None = field(repr=False)
    token_param: str
    hmac_keys: tuple[bytes, ...] = field(repr=False)
    signature_header: str
    tolerance_s: float


class WebhookIntake:
    """Handles one webhook request end to end (see the module docstring for the order)."""

    def __init__(
        self,
        settings: Settings,
        writer: Writer,
        metrics: Metrics,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._auth = _Auth(
            token=settings.webhook_token.reveal() if settings.webhook_token is not None else None,
            token_param=settings.webhook_token_param,
            hmac_keys=settings.webhook_hmac_keys,
            signature_header=settings.webhook_signature_header,
            tolerance_s=settings.webhook_signature_tolerance_s,
        )
        self._max_body = settings.webhook_max_body_bytes
        self._writer = writer
        self._metrics = metrics
        self._clock = clock
        self._wall = wall

    async def handle(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        response = await self._handle(request)
        self._metrics.observe_webhook_response(response.status, time.perf_counter() - started)
        return response

    async def _handle(self, request: web.Request) -> web.Response:
        self._metrics.webhook_received()
        body = await read_limited(request, self._max_body)
        if body is None:
            return self._reject(413, "too_large", f"the body exceeds {self._max_body} bytes")
        auth = self._auth
        failure = check_token(request.query.get(auth.token_param), auth.token) or check_signature(
            request.headers.get(auth.signature_header),
            body,
            auth.hmac_keys,
            now=self._wall(),
            tolerance_s=auth.tolerance_s,
        )
        if failure is not None:
            return self._reject(401, failure.reason, failure.message)
        try:
            event = parse_event(body, self._clock())
        except SchemaError as exc:
            return self._reject(400, "invalid_body", str(exc))
        return await self._write(event)

    async def _write(self, event: PaymendWebhookEvent) -> web.Response:
        try:
            await self._writer(event.message_key.encode(), event.encode())
        except TimeoutError:
            logger.warning("%s: no Kafka ack in time, answering 503", _what(event))
            return self._reject(503, "write_timeout", "the event could not be stored in time")
        except WriteRefused as exc:
            logger.warning("%s: refused, answering 503: %s", _what(event), exc)
            return self._reject(503, "overloaded", "too many events are waiting to be stored")
        except Exception as exc:  # any producer error: Paymend redelivers after the 503
            logger.warning("%s: write failed, answering 503: %s", _what(event), type(exc).__name__)
            return self._reject(503, "write_failed", "the event could not be stored")
        self._metrics.webhook_written()
        if event.payment.updated_at is not None:
            self._metrics.observe_webhook_lag(event.payment.updated_at, event.received_at)
        if logger.isEnabledFor(logging.INFO):
            logger.info("%s accepted", _what(event))
        return web.Response(
            body=b'{"status": "accepted", "eventId": ' + orjson.dumps(event.event_id) + b"}",
            content_type="application/json",
        )

    def _reject(self, status: int, reason: str, detail: str) -> web.Response:
        self._metrics.webhook_rejected(REJECTION_REASONS[reason])
        if status < 500:
            logger.info("webhook refused with %d: %s", status, reason)
        error = _ERRORS.get(status, reason)
        return web.json_response({"error": error, "reason": reason, "detail": detail}, status=status)


def _what(event: PaymendWebhookEvent) -> str:
    """How log lines name an event: eventId, eventType, merchantReference (never the body)."""
    return f"webhook {event.event_id} {event.event_type} for {event.message_key}"


def webhook_view(intake: WebhookIntake) -> type[View]:
    """A faust `View` class whose POST is `intake.handle` (other methods: 405)."""

    class WebhookView(View):
        async def post(self, request: Request, **kwargs: Any) -> Response:
            return cast(Response, await intake.handle(cast(web.Request, request)))

    return WebhookView
