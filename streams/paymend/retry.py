"""When and how long to wait before trying a Paymend call again. Pure: no I/O, no clock, no sleep.

Owns: `RetryPolicy` (attempts, base, cap; full-jitter exponential backoff honouring Retry-After),
`should_retry` (which errors are worth another attempt) and `parse_retry_after`.

- Retried: `PaymendUnavailable`, i.e. connect errors, timeouts, broken connections, 429, 5xx.
- Never retried: every other 4xx (`PaymendRejected`) and `PaymendProtocolError`.
- A call that is not safe to replay (a partial capture or refund: Paymend allows several, so a
  replay could move money twice) is retried only when Paymend certainly did not act on it
  (`maybe_processed` is False: no connection was made, or 429).

Backoff before retry n (n = 1 for the first retry) is `uniform(0, min(max_s, base_s * 2**(n-1)))`
("full jitter"). A Retry-After from Paymend is a floor for that wait; the result is capped by
`max_s` in every case, so one wait never exceeds `PAYMEND_RETRY_MAX_S`.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from streams.paymend.errors import PaymendUnavailable

if TYPE_CHECKING:
    from streams.settings import Settings

__all__ = ["RetryPolicy", "parse_retry_after", "should_retry"]

_MAX_EXPONENT = 62


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts a call gets, and the backoff between them (seconds)."""

    attempts: int = 5
    base_s: float = 0.1
    max_s: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1 (1 means no retry)")
        if self.base_s < 0 or self.max_s < 0:
            raise ValueError("base_s and max_s must not be negative")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            attempts=settings.paymend_retry_attempts,
            base_s=settings.paymend_retry_base_s,
            max_s=settings.paymend_retry_max_s,
        )

    def ceiling(self, retry: int) -> float:
        """The upper bound of the jittered wait before retry number `retry` (1-based)."""
        if retry < 1:
            raise ValueError("retry numbers start at 1")
        return min(self.max_s, self.base_s * (1 << min(retry - 1, _MAX_EXPONENT)))

    def delay(
        self,
        retry: int,
        *,
        retry_after: float | None = None,
        random: Callable[[], float] = _random.random,
    ) -> float:
        """Seconds to wait before retry number `retry`; `random` returns a float in [0, 1)."""
        wait = random() * self.ceiling(retry)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(max(wait, 0.0), self.max_s)

    def allows_retry_after(self, attempts_made: int) -> bool:
        """Whether another attempt is allowed after `attempts_made` attempts."""
        return attempts_made < self.attempts


def should_retry(error: BaseException, *, replay_safe: bool = True) -> bool:
    """Whether `error` is worth another attempt of the same request.

    `replay_safe` says whether sending the request twice is harmless (reads, creates deduplicated
    on merchantReference, full capture/void/refund); False for partial captures and refunds.
    """
    if not isinstance(error, PaymendUnavailable):
        return False
    return replay_safe or not error.maybe_processed


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).

    A date in the past gives 0. A missing or unreadable value gives None. `now` must be aware.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" in an HTTP date means UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
