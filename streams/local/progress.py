"""`python -m streams progress`: one terminal line of recovery progress, every ~2 s, for `make run`.

    declines 1234 (1180 payments) | waiting 12 | pending 40 | recovered 700 | voided 30 |
    refunded 5 | failed 380 | expired 13 | recovery rate 63.9%

Read from Kafka, from the beginning, with a confluent consumer of its own (a unique group ID that
never commits; partitions are assigned directly, so no group has to form):
- the declines topic is only counted (messages, distinct keys = payments); its values hold card
  data and are never decoded;
- the status topic (`PaymentStatusChanged`) is deduplicated on `eventId`, and each payment counts
  under its latest status: PENDING, recovered (AUTHORIZED or CAPTURED), VOIDED, REFUNDED, FAILED,
  or expired (FAILED with RECOVERY_WINDOW_EXPIRED). `waiting` is declined payments without any
  status yet. Recovery rate = recovered / (recovered + failed + expired).

Topics that do not exist yet are picked up when they appear. SIGINT/SIGTERM stop it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TextIO

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from schemas import PaymentStatus, PaymentStatusChanged, SchemaError
from streams.broker.client_config import confluent_config
from streams.local.command_support import kafka_settings_or_none, stop_on_signals
from streams.pipeline.observe import EXPIRED_CODES
from streams.settings import Settings

__all__ = ["ProgressSnapshot", "ProgressTally", "add_arguments", "main", "watch"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """Counts at one moment; payments count under their latest status."""

    declines: int = 0
    payments: int = 0
    waiting: int = 0
    pending: int = 0
    recovered: int = 0
    voided: int = 0
    refunded: int = 0
    failed: int = 0
    expired: int = 0
    duplicates: int = 0
    undecodable: int = 0

    @property
    def recovery_rate(self) -> float | None:
        """recovered / (recovered + failed + expired), None before any of them."""
        concluded = self.recovered + self.failed + self.expired
        return self.recovered / concluded if concluded else None

    def line(self) -> str:
        rate = "-" if self.recovery_rate is None else f"{self.recovery_rate:.1%}"
        parts = [
            f"declines {self.declines} ({self.payments} payments)",
            f"waiting {self.waiting}",
            f"pending {self.pending}",
            f"recovered {self.recovered}",
            f"voided {self.voided}",
            f"refunded {self.refunded}",
            f"failed {self.failed}",
            f"expired {self.expired}",
            f"recovery rate {rate}",
        ]
        if self.undecodable:
            parts.append(f"undecodable {self.undecodable}")
        return " | ".join(parts)


class ProgressTally:
    """The aggregation behind the progress line: feed it messages, ask for a snapshot."""

    def __init__(self) -> None:
        self._declines = 0
        self._declined: set[str] = set()
        self._event_ids: set[str] = set()
        self._latest: dict[str, str] = {}  # payment ID -> bucket of its latest status
        self._duplicates = 0
        self._undecodable = 0

    def add_decline(self, key: bytes | str | None) -> None:
        """A message on the declines topic; only its key (the payment ID) is read."""
        self._declines += 1
        if key is not None:
            self._declined.add(key.decode("utf-8", "replace") if isinstance(key, bytes) else key)

    def add_status(self, event: PaymentStatusChanged) -> bool:
        """A status event; False (and not counted) when its eventId was seen before."""
        if event.event_id in self._event_ids:
            self._duplicates += 1
            return False
        self._event_ids.add(event.event_id)
        self._latest[event.payment_id] = _bucket(event)
        return True

    def add_status_bytes(self, raw: bytes | None) -> bool:
        """A raw status message: decoded, then `add_status`; undecodable ones are only counted."""
        try:
            event = PaymentStatusChanged.decode(raw)
        except SchemaError:
            self._undecodable += 1
            return False
        return self.add_status(event)

    def snapshot(self) -> ProgressSnapshot:
        counts = dict.fromkeys(("pending", "recovered", "voided", "refunded", "failed", "expired"), 0)
        for bucket in self._latest.values():
            counts[bucket] += 1
        waiting = sum(1 for payment in self._declined if payment not in self._latest)
        return ProgressSnapshot(
            declines=self._declines,
            payments=len(self._declined),
            waiting=waiting,
            duplicates=self._duplicates,
            undecodable=self._undecodable,
            **counts,
        )


def _bucket(event: PaymentStatusChanged) -> str:
    status = PaymentStatus(event.new_status)
    if status.recovered:
        return "recovered"
    if status is PaymentStatus.FAILED and event.failure_code in EXPIRED_CODES:
        return "expired"
    return status.value.lower()


# --- the consumer loop -------------------------------------------------------------------------


def watch(
    settings: Settings,
    *,
    stop: threading.Event,
    out: TextIO,
    interval: float = 2.0,
    tally: ProgressTally | None = None,
) -> ProgressSnapshot:
    """Consume the declines and status topics into `tally`, writing a line every `interval` s."""
    tally = tally or ProgressTally()
    declines, status = settings.topic_declines, settings.topic_status
    consumer = Consumer(
        {
            **confluent_config(settings),
            "group.id": f"paymend-streams-progress-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    assigned: set[str] = set()
    tty = out.isatty()
    next_line = next_lookup = time.monotonic()
    try:
        while not stop.is_set():
            now = time.monotonic()
            if len(assigned) < 2 and now >= next_lookup:
                _assign_new(consumer, {declines, status} - assigned, assigned)
                next_lookup = now + 1.0
            for message in consumer.consume(num_messages=1000, timeout=0.2) if assigned else ():
                if message.error() is not None:
                    logger.warning("consuming %s: %s", message.topic(), message.error())
                elif message.topic() == declines:
                    tally.add_decline(message.key())
                else:
                    tally.add_status_bytes(message.value())
            if not assigned:
                stop.wait(0.2)
            if time.monotonic() >= next_line:
                _write(out, tally.snapshot().line(), tty)
                next_line += interval
    finally:
        consumer.close()
    snapshot = tally.snapshot()
    _write(out, snapshot.line(), tty)
    if tty:
        out.write("\n")
    return snapshot


def _assign_new(consumer: Consumer, wanted: set[str], assigned: set[str]) -> None:
    """Assign every partition of the wanted topics that exist, from the beginning."""
    topics = consumer.list_topics(timeout=5.0).topics  # all topics: never auto-creates one
    partitions = []
    for name in sorted(wanted):
        metadata = topics.get(name)
        if metadata is not None and metadata.partitions:
            partitions += [TopicPartition(name, p, OFFSET_BEGINNING) for p in metadata.partitions]
            assigned.add(name)
    if partitions:
        consumer.incremental_assign(partitions)


def _write(out: TextIO, line: str, tty: bool) -> None:
    out.write(f"\r{line}\x1b[K" if tty else f"{line}\n")
    out.flush()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between lines (default 2)")


def main(args: argparse.Namespace) -> int:
    settings = kafka_settings_or_none()
    if settings is None:
        return 2
    stop = stop_on_signals()
    try:
        watch(settings, stop=stop, out=sys.stdout, interval=args.interval)
    except KafkaException as exc:
        logger.error("Kafka: %s", exc)
        return 1
    return 0
