"""What can go wrong when calling Paymend, as one small exception tree.

Owns: the exception classes, the context every one of them carries, and the mapping from an
HTTP status to the class. httpx and aiohttp exceptions never leave `streams.paymend`: the client
translates them here, at the boundary, keeping the original as `__cause__`.

    PaymendError                    root of every failed Paymend call; `.context` says which call
    ├── PaymendUnavailable          transient: timeout, connect or network error, HTTP 5xx, HTTP 429.
    │                               `.status`, `.retry_after` (seconds), `.kind`, `.maybe_processed`.
    │                               The client retries these per its RetryPolicy and raises the last
    │                               one when the attempts are spent. Agents: retry later (backoff).
    ├── PaymendRejected             Paymend refused the request (4xx). `.status`, `.error_code`,
    │   │                           `.error_field`, `.error_body` (card data scrubbed). Never retried:
    │   │                           the same request would be refused again. Agents: dead letter.
    │   ├── PaymendInvalidRequest   400, 422: malformed or invalid request
    │   ├── PaymendUnauthorized     401: missing or wrong token (configuration: crash loudly)
    │   ├── PaymendNotFound         404: unknown paymentId
    │   └── PaymendConflict         409: wrong state, or (create) a duplicate merchantReference
    └── PaymendProtocolError        the answer makes no sense: not JSON, a malformed or unknown
                                    field (an unknown status), an unexpected HTTP status (1xx, 3xx)

Other 4xx (403, 405, 408, 413, ...) raise `PaymendRejected` itself. Paymend documents no error
codes at all (paymend-api.md §9.1): every mapping above is an assumption shared with the sandbox.

Messages name the operation, the HTTP status, the payment id / merchantReference and the
request-id. They never contain card data or the API token: text taken from Paymend's error
bodies is scrubbed first (`streams.paymend.redact`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CallContext",
    "PaymendConflict",
    "PaymendError",
    "PaymendInvalidRequest",
    "PaymendNotFound",
    "PaymendProtocolError",
    "PaymendRejected",
    "PaymendUnauthorized",
    "PaymendUnavailable",
    "UnavailableKind",
    "rejected_class",
]

#: Why Paymend was unavailable: no connection, no answer in time, a broken connection, or an
#: HTTP status (5xx, 429).
UnavailableKind = Literal["connect", "timeout", "network", "status"]


@dataclass(frozen=True, slots=True)
class CallContext:
    """Which logical call failed: the operation, its ids, and how many attempts were made."""

    operation: str
    request_id: str
    payment_id: str | None = None
    merchant_reference: str | None = None
    attempts: int = 1

    def describe(self) -> str:
        parts = [f"operation={self.operation}"]
        if self.payment_id is not None:
            parts.append(f"paymentId={self.payment_id}")
        if self.merchant_reference is not None:
            parts.append(f"merchantReference={self.merchant_reference}")
        parts.append(f"request-id={self.request_id}")
        parts.append(f"attempts={self.attempts}")
        return " ".join(parts)


class PaymendError(Exception):
    """Root of every failure of a Paymend call."""

    def __init__(self, message: str, *, context: CallContext | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    @property
    def operation(self) -> str | None:
        return None if self.context is None else self.context.operation

    @property
    def payment_id(self) -> str | None:
        return None if self.context is None else self.context.payment_id

    @property
    def merchant_reference(self) -> str | None:
        return None if self.context is None else self.context.merchant_reference

    @property
    def request_id(self) -> str | None:
        return None if self.context is None else self.context.request_id

    @property
    def attempts(self) -> int:
        """Attempts made for the logical call; above 1, an earlier attempt may have succeeded."""
        return 0 if self.context is None else self.context.attempts

    def __str__(self) -> str:
        if self.context is None:
            return self.message
        return f"{self.message} [{self.context.describe()}]"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class PaymendUnavailable(PaymendError):
    """Paymend could not be reached or answered with 5xx or 429: worth trying again later.

    `maybe_processed` is False only when Paymend certainly did not act on the request (the
    connection was never made, or 429). When it is True and the call changed state, the change
    may have happened: replaying is safe only for calls Paymend deduplicates.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: UnavailableKind,
        maybe_processed: bool,
        status: int | None = None,
        retry_after: float | None = None,
        context: CallContext | None = None,
    ) -> None:
        super().__init__(message, context=context)
        self.kind: UnavailableKind = kind
        self.maybe_processed = maybe_processed
        self.status = status
        self.retry_after = retry_after


class PaymendRejected(PaymendError):
    """Paymend refused the request with a 4xx. `error_body` is Paymend's JSON object, scrubbed."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error_code: str | None = None,
        error_field: str | None = None,
        error_body: Mapping[str, Any] | None = None,
        context: CallContext | None = None,
    ) -> None:
        super().__init__(message, context=context)
        self.status = status
        self.error_code = error_code
        self.error_field = error_field
        self.error_body = error_body


class PaymendInvalidRequest(PaymendRejected):
    """400 or 422: the request is malformed or fails Paymend's validation."""


class PaymendUnauthorized(PaymendRejected):
    """401: the token is missing, wrong, or for the other environment."""


class PaymendNotFound(PaymendRejected):
    """404: Paymend does not know this paymentId."""


class PaymendConflict(PaymendRejected):
    """409: the payment is in the wrong state, or (create) the merchantReference already exists."""


class PaymendProtocolError(PaymendError):
    """Paymend's answer could not be understood. Not retried: it is a contract problem."""

    def __init__(
        self, message: str, *, status: int | None = None, context: CallContext | None = None
    ) -> None:
        super().__init__(message, context=context)
        self.status = status


_REJECTED: Mapping[int, type[PaymendRejected]] = {
    400: PaymendInvalidRequest,
    401: PaymendUnauthorized,
    404: PaymendNotFound,
    409: PaymendConflict,
    422: PaymendInvalidRequest,
}


def rejected_class(status: int) -> type[PaymendRejected]:
    """The exception class for a 4xx status other than 429."""
    return _REJECTED.get(status, PaymendRejected)
