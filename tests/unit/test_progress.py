"""The progress tally: latest status per payment, deduplication on eventId, the recovery rate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas import PaymentStatus, PaymentStatusChanged, StatusCause
from streams.local.progress import ProgressSnapshot, ProgressTally

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def status(
    payment_id: str,
    new: PaymentStatus,
    previous: PaymentStatus | None = None,
    failure_code: str | None = None,
) -> PaymentStatusChanged:
    return PaymentStatusChanged.create(
        payment_id=payment_id,
        paymend_payment_id=f"pm_{payment_id}",
        new_status=new,
        previous_status=previous,
        cause=StatusCause.WEBHOOK,
        amount=1000,
        currency="EUR",
        occurred_at=NOW,
        failure_code=failure_code,
    )


def test_duplicates_by_event_id_are_not_counted_twice() -> None:
    tally = ProgressTally()
    event = status("p1", PaymentStatus.AUTHORIZED, PaymentStatus.PENDING)

    assert tally.add_status(event) is True
    assert tally.add_status(event) is False
    assert tally.add_status_bytes(event.encode()) is False  # the same event, read again from Kafka

    snap = tally.snapshot()
    assert snap.recovered == 1
    assert snap.duplicates == 2


def test_a_payment_counts_under_its_latest_status() -> None:
    tally = ProgressTally()
    tally.add_status(status("p1", PaymentStatus.PENDING))
    assert tally.snapshot().pending == 1

    tally.add_status(status("p1", PaymentStatus.AUTHORIZED, PaymentStatus.PENDING))
    assert (tally.snapshot().pending, tally.snapshot().recovered) == (0, 1)

    tally.add_status(status("p1", PaymentStatus.VOIDED, PaymentStatus.AUTHORIZED))
    assert (tally.snapshot().recovered, tally.snapshot().voided) == (0, 1)


def test_recovery_rate_is_recovered_over_recovered_failed_and_expired() -> None:
    tally = ProgressTally()
    for i in range(3):
        tally.add_status(status(f"ok{i}", PaymentStatus.CAPTURED, PaymentStatus.AUTHORIZED))
    tally.add_status(status("f1", PaymentStatus.FAILED, PaymentStatus.PENDING, "INSUFFICIENT_FUNDS"))
    tally.add_status(status("x1", PaymentStatus.FAILED, PaymentStatus.PENDING, "RECOVERY_WINDOW_EXPIRED"))
    tally.add_status(status("v1", PaymentStatus.VOIDED, PaymentStatus.PENDING))  # excluded
    tally.add_status(status("v2", PaymentStatus.VOIDED, PaymentStatus.AUTHORIZED))  # excluded
    tally.add_status(status("r1", PaymentStatus.REFUNDED, PaymentStatus.CAPTURED))  # excluded
    tally.add_status(status("p1", PaymentStatus.PENDING))  # in flight: excluded

    snap = tally.snapshot()
    assert (snap.recovered, snap.failed, snap.expired) == (3, 1, 1)
    assert (snap.voided, snap.refunded, snap.pending) == (2, 1, 1)
    assert snap.recovery_rate == pytest.approx(3 / 5)
    assert "recovery rate 60.0%" in snap.line()


def test_no_rate_before_any_recovery_concluded() -> None:
    tally = ProgressTally()
    tally.add_status(status("p1", PaymentStatus.PENDING))

    assert tally.snapshot().recovery_rate is None
    assert "recovery rate -" in tally.snapshot().line()


def test_declines_count_messages_and_payments_and_who_is_waiting() -> None:
    tally = ProgressTally()
    tally.add_decline(b"p1")
    tally.add_decline(b"p1")  # a second decline of the same payment
    tally.add_decline("p2")
    tally.add_decline(None)
    tally.add_status(status("p1", PaymentStatus.PENDING))

    snap = tally.snapshot()
    assert (snap.declines, snap.payments, snap.waiting, snap.pending) == (4, 2, 1, 1)


@pytest.mark.parametrize("raw", [b"not json", b"{}", None])
def test_undecodable_status_messages_are_counted_not_fatal(raw: bytes | None) -> None:
    tally = ProgressTally()

    assert tally.add_status_bytes(raw) is False
    assert tally.snapshot().undecodable == 1
    assert "undecodable 1" in tally.snapshot().line()


def test_the_line_shows_every_count() -> None:
    snap = ProgressSnapshot(
        declines=10, payments=9, waiting=1, pending=2, recovered=3, voided=1, refunded=1, failed=1, expired=0
    )

    assert snap.line() == (
        "declines 10 (9 payments) | waiting 1 | pending 2 | recovered 3 | voided 1 | refunded 1 | "
        "failed 1 | expired 0 | recovery rate 75.0%"
    )
