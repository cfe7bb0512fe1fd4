"""The boundary between HTTP and the Paymend domain: responses and transport failures in, results out.

Owns: turning one attempt's outcome (the `Answer` of a `streams.paymend.wire.Wire`, or an
exception raised by aiohttp or httpx) into either a `PaymentResponse` or a `PaymendError` from
`streams.paymend.errors`. Nothing else in the package looks at status codes or library exceptions.

- 2xx: the body must be a JSON object that parses as a PaymentResponse, else protocol error.
- 429 and 5xx: `PaymendUnavailable(kind="status")` with the parsed Retry-After.
- other 4xx: the `PaymendRejected` subclass for the status, with Paymend's error body scrubbed.
- 1xx / 3xx: protocol error (redirects are not followed).
- Transport failures: `PaymendUnavailable` with `kind` connect / timeout / network, or a protocol
  error for failures that are ours (an unsupported URL scheme, an invalid request).

httpx-aiohttp maps every `aiohttp.ClientConnectionError` (a server disconnect included) to
`httpx.ConnectTimeout`, so "the connection was never made" is read from the aiohttp cause.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import httpx
import orjson

from streams.paymend.errors import (
    CallContext,
    PaymendError,
    PaymendProtocolError,
    PaymendRejected,
    PaymendUnavailable,
    rejected_class,
)
from streams.paymend.redact import scrub, scrub_text
from streams.paymend.responses import PaymentResponse
from streams.paymend.retry import parse_retry_after
from streams.paymend.wire import Answer

__all__ = ["TRANSPORT_ERRORS", "error_from_exception", "outcome_of", "result_from_response"]

#: Everything an attempt may raise that `error_from_exception` translates.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    httpx.HTTPError,
    httpx.InvalidURL,
    aiohttp.ClientError,
    TimeoutError,
)

_DETAIL_MAX = 200
_CODE_KEYS = ("code", "errorCode", "error_code", "failureCode")
_FIELD_KEYS = ("field", "path", "param", "parameter")
_TEXT_KEYS = ("message", "detail", "error", "title", "description", "failureMessage")


def outcome_of(status: int) -> str:
    """The bounded status class of an HTTP status: '2xx', '4xx', ..."""
    return f"{status // 100}xx"


def result_from_response(
    response: Answer,
    context: CallContext,
    *,
    secrets: Iterable[str],
    clock: Callable[[], datetime],
) -> PaymentResponse:
    """The PaymentResponse in a 2xx answer; raises the matching PaymendError otherwise."""
    status = response.status_code
    op = context.operation
    if 200 <= status < 300:
        body = _json_object(response.content)
        if body is None:
            raise PaymendProtocolError(
                f"{op}: HTTP {status} without a JSON object body", status=status, context=context
            )
        try:
            return PaymentResponse.from_json(body)
        except PaymendProtocolError as exc:
            raise PaymendProtocolError(f"{op}: {exc.message}", status=status, context=context) from exc
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=_server_now(response, clock))
        raise PaymendUnavailable(
            f"{op}: Paymend answered HTTP {status}"
            + ("" if retry_after is None else f" (Retry-After {retry_after:g}s)"),
            kind="status",
            maybe_processed=status != 429,
            status=status,
            retry_after=retry_after,
            context=context,
        )
    if 400 <= status < 500:
        raise _rejected(response, context, tuple(secrets))
    raise PaymendProtocolError(f"{op}: unexpected HTTP {status}", status=status, context=context)


def error_from_exception(exc: BaseException, context: CallContext, *, secrets: Iterable[str]) -> PaymendError:
    """The PaymendError for an exception raised while sending a request or reading its answer."""
    op = context.operation
    detail = scrub_text(f"{type(exc).__name__}: {exc}", secrets)[:_DETAIL_MAX]
    if isinstance(exc, aiohttp.InvalidURL):
        return PaymendProtocolError(f"{op}: request failed ({detail})", context=context)
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        # raised by the aiohttp wire itself: no connection was made (or none came free in time)
        return PaymendUnavailable(
            f"{op}: could not connect to Paymend ({detail})",
            kind="connect",
            maybe_processed=False,
            context=context,
        )
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return PaymendUnavailable(
            f"{op}: no answer from Paymend in time ({detail})",
            kind="timeout",
            maybe_processed=True,
            context=context,
        )
    if isinstance(exc, httpx.ConnectError | httpx.PoolTimeout | httpx.ProxyError) or (
        isinstance(exc, httpx.ConnectTimeout) and _never_connected(exc)
    ):
        return PaymendUnavailable(
            f"{op}: could not connect to Paymend ({detail})",
            kind="connect",
            maybe_processed=False,
            context=context,
        )
    if isinstance(
        exc, httpx.ConnectTimeout | httpx.NetworkError | httpx.RemoteProtocolError | aiohttp.ClientError
    ):
        return PaymendUnavailable(
            f"{op}: connection to Paymend failed ({detail})",
            kind="network",
            maybe_processed=True,
            context=context,
        )
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return PaymendUnavailable(
            f"{op}: no answer from Paymend in time ({detail})",
            kind="timeout",
            maybe_processed=True,
            context=context,
        )
    # UnsupportedProtocol, LocalProtocolError, DecodingError, InvalidURL, ...: not transient.
    return PaymendProtocolError(f"{op}: request failed ({detail})", context=context)


def _never_connected(exc: httpx.ConnectTimeout) -> bool:
    """False when httpx-aiohttp reported a broken connection (a server disconnect, a reset) as a
    ConnectTimeout; true for a real connect timeout (aiohttp's or httpx's own transport)."""
    cause = exc.__cause__
    if not isinstance(cause, aiohttp.ClientError):
        return True
    return isinstance(cause, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError)


def _server_now(response: Answer, clock: Callable[[], datetime]) -> datetime:
    """The server's Date header if readable (no clock skew on an HTTP-date Retry-After), else `clock`."""
    date = response.headers.get("Date")
    if date:
        try:
            parsed = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    return clock()


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _first_text(body: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = body.get(key)
        if isinstance(value, str) and value:
            return value[:_DETAIL_MAX]
    return None


def _rejected(response: Answer, context: CallContext, secrets: tuple[str, ...]) -> PaymendRejected:
    status = response.status_code
    raw = _json_object(response.content)
    body: dict[str, Any] | None = None if raw is None else scrub(raw, secrets)
    code = field = text = None
    if body is not None:
        # `{"error": {"code": ..., "message": ...}}` is as common as a flat object.
        inner = body.get("error")
        sources = (inner, body) if isinstance(inner, Mapping) else (body,)
        for source in sources:
            code = code or _first_text(source, _CODE_KEYS)
            field = field or _first_text(source, _FIELD_KEYS)
            text = text or _first_text(source, _TEXT_KEYS)
    message = f"{context.operation}: Paymend rejected the request with HTTP {status}"
    if code:
        message += f" {code}"
    if field:
        message += f" on {field}"
    if text:
        message += f": {text}"
    return rejected_class(status)(
        message, status=status, error_code=code, error_field=field, error_body=body, context=context
    )
