"""RetryPolicy, should_retry and parse_retry_after: pure functions, no I/O, no waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.paymend import (
    PaymendConflict,
    PaymendError,
    PaymendInvalidRequest,
    PaymendNotFound,
    PaymendProtocolError,
    PaymendRejected,
    PaymendUnauthorized,
    PaymendUnavailable,
    RetryPolicy,
    parse_retry_after,
    should_retry,
)
from streams.settings import Settings

NOW = datetime(2025, 12, 15, 10, 0, 0, tzinfo=UTC)


def test_backoff_ceiling_doubles_then_stops_at_the_cap() -> None:
    policy = RetryPolicy(attempts=8, base_s=0.1, max_s=1.0)
    assert [policy.ceiling(n) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_full_jitter_scales_the_ceiling_by_the_random_draw() -> None:
    policy = RetryPolicy(attempts=5, base_s=0.5, max_s=10.0)
    assert policy.delay(3, random=lambda: 0.0) == 0.0
    assert policy.delay(3, random=lambda: 0.5) == pytest.approx(1.0)
    assert policy.delay(3, random=lambda: 0.999) == pytest.approx(1.998)


def test_retry_after_is_a_floor_capped_by_the_maximum() -> None:
    policy = RetryPolicy(attempts=5, base_s=0.1, max_s=5.0)
    assert policy.delay(1, retry_after=2.0, random=lambda: 0.5) == 2.0
    assert policy.delay(1, retry_after=0.0, random=lambda: 0.5) == pytest.approx(0.05)
    assert policy.delay(1, retry_after=120.0, random=lambda: 0.5) == 5.0


def test_a_huge_retry_number_does_not_overflow() -> None:
    assert RetryPolicy(base_s=0.1, max_s=3.0).ceiling(10_000) == 3.0


@given(
    retry=st.integers(min_value=1, max_value=200),
    draw=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    retry_after=st.none() | st.floats(min_value=0.0, max_value=1e6),
    base=st.floats(min_value=0.0, max_value=10.0),
    cap=st.floats(min_value=0.0, max_value=60.0),
)
def test_every_delay_is_between_zero_and_the_cap(
    retry: int, draw: float, retry_after: float | None, base: float, cap: float
) -> None:
    delay = RetryPolicy(attempts=3, base_s=base, max_s=cap).delay(
        retry, retry_after=retry_after, random=lambda: draw
    )
    assert 0.0 <= delay <= cap


def test_attempts_bound_the_retries() -> None:
    policy = RetryPolicy(attempts=3)
    assert [policy.allows_retry_after(n) for n in (1, 2, 3)] == [True, True, False]
    assert RetryPolicy(attempts=1).allows_retry_after(1) is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"attempts": 0}, "attempts"), ({"base_s": -1.0}, "negative"), ({"max_s": -0.1}, "negative")],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_from_settings() -> None:
    settings = Settings(paymend_retry_attempts=7, paymend_retry_base_s=0.25, paymend_retry_max_s=9.0)
    assert RetryPolicy.from_settings(settings) == RetryPolicy(attempts=7, base_s=0.25, max_s=9.0)


def _unavailable(*, maybe_processed: bool = True, status: int | None = None) -> PaymendUnavailable:
    return PaymendUnavailable("x", kind="status", maybe_processed=maybe_processed, status=status)


@pytest.mark.parametrize(
    "error",
    [
        PaymendUnavailable("connect", kind="connect", maybe_processed=False),
        PaymendUnavailable("timeout", kind="timeout", maybe_processed=True),
        PaymendUnavailable("reset", kind="network", maybe_processed=True),
        _unavailable(status=503),
        _unavailable(status=500),
        _unavailable(status=429, maybe_processed=False),
    ],
)
def test_transient_errors_are_retried(error: PaymendError) -> None:
    assert should_retry(error) is True


@pytest.mark.parametrize(
    "error",
    [
        PaymendInvalidRequest("x", status=400),
        PaymendUnauthorized("x", status=401),
        PaymendRejected("x", status=403),
        PaymendNotFound("x", status=404),
        PaymendConflict("x", status=409),
        PaymendInvalidRequest("x", status=422),
        PaymendProtocolError("x"),
        PaymendError("x"),
        ValueError("x"),
    ],
)
def test_refusals_and_protocol_errors_are_never_retried(error: BaseException) -> None:
    assert should_retry(error) is False
    assert should_retry(error, replay_safe=False) is False


def test_unsafe_replays_are_retried_only_when_paymend_cannot_have_acted() -> None:
    assert should_retry(_unavailable(maybe_processed=False), replay_safe=False) is True
    assert should_retry(_unavailable(maybe_processed=True), replay_safe=False) is False


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        ("Mon, 15 Dec 2025 10:00:07 GMT", 7.0),
        (format_datetime(NOW - timedelta(minutes=5), usegmt=True), 0.0),
        (None, None),
        ("", None),
        ("-1", None),
        ("1.5", None),
        ("soon", None),
        ("\u0663", None),  # a non-ASCII digit
    ],
)
def test_retry_after_is_delay_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds
