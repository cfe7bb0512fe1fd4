"""Every metric of the service, declared once: `Metrics(registry)`.

One `Metrics` per app (and per test), on its own `prometheus_client.CollectorRegistry`; agents and
web views call its small methods, never prometheus_client directly. Names start with
`paymend_streams_`, carry their unit (`_seconds`, `_minor` for amounts in minor units) and counters
end in `_total`. Rates and ratios (the recovery rate, error ratios, quantiles) are PromQL recording
rules: `streams.metrics_rules`, rendered to `deploy/prometheus/recording-rules.yml`.

| metric (prefix `paymend_streams_`)       | type      | labels                                   |
|------------------------------------------|-----------|------------------------------------------|
| recoveries_started_total                 | counter   | decline_code, store, currency            |
| recovery_outcomes_total                  | counter   | outcome, decline_code, store, currency   |
| recovered_amount_minor_total             | counter   | currency                                 |
| time_to_recover_seconds                  | histogram | -                                        |
| void_latency_seconds                     | histogram | action, trigger                          |
| paymend_call_duration_seconds            | histogram | operation                                |
| paymend_calls_total                      | counter   | operation, status_class                  |
| paymend_calls_in_flight                  | gauge     | -                                        |
| webhooks_received_total                  | counter   | -                                        |
| webhooks_rejected_total                  | counter   | reason                                   |
| webhooks_written_total                   | counter   | -                                        |
| webhooks_duplicate_total                 | counter   | -                                        |
| webhooks_stale_total                     | counter   | -                                        |
| webhook_request_duration_seconds         | histogram | status_class                             |
| webhook_lag_seconds                      | histogram | -                                        |
| dead_letters_total                       | counter   | source_topic, reason                     |
| payments_pending                         | gauge     | -                                        |
| payments_stuck                           | gauge     | -                                        |
| conflicts_total                          | counter   | from_status, to_status                   |
| events_processed_total                   | counter   | topic, result                            |

Labels are bounded, never a payment or order ID:
- Fixed vocabularies (`outcome`, `action`, `trigger`, webhook rejection `reason`) are enums here;
  an unknown value raises `ValueError` (a programming error, caught by tests).
- Values that come from outside (decline code, store, currency, topic, error class, Paymend
  operation and status class, payment statuses) go through a `BoundedLabel`: the first N distinct
  values seen keep their own series, later new ones become `other` (N per `LabelLimits`). The
  mapping is stable for the life of the process: a value never moves between its own series and
  `other`, so counters stay monotonic. Empty or missing values are `unknown`.
  Combinations are bounded by what occurs together: recovery counters have at most
  decline codes x stores x currencies series per outcome, in practice far fewer (a store sells in
  one or two currencies).

`recovered_amount_minor_total` counts minor units of each currency (cents, pence; yen have none):
never add it up across currencies.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
    "CONCLUDED_OUTCOMES",
    "PREFIX",
    "BoundedLabel",
    "LabelLimits",
    "Metrics",
    "RecoveryOutcome",
    "StopAction",
    "StopTrigger",
    "WebhookRejection",
]

#: Prefix of every metric name.
PREFIX: Final = "paymend_streams_"

OTHER: Final = "other"
UNKNOWN: Final = "unknown"
_MAX_LABEL_CHARS: Final = 64

_MINUTE: Final = 60.0
_HOUR: Final = 3600.0
_DAY: Final = 86400.0

#: From the first decline to AUTHORIZED/CAPTURED: seconds (the sandbox) to Paymend's 14-day window.
TIME_TO_RECOVER_BUCKETS: Final = (
    0.5, 1.0, 2.5, 5.0, 10.0, 30.0, _MINUTE, 5 * _MINUTE, 15 * _MINUTE, 30 * _MINUTE,
    _HOUR, 3 * _HOUR, 6 * _HOUR, 12 * _HOUR, _DAY, 2 * _DAY, 4 * _DAY, 7 * _DAY, 10 * _DAY, 14 * _DAY,
)  # fmt: skip
#: From the stop event (cancel, settled elsewhere) to VOIDED/REFUNDED: sub-second to a day.
VOID_LATENCY_BUCKETS: Final = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, _MINUTE, 5 * _MINUTE, 15 * _MINUTE, _HOUR,
    6 * _HOUR, _DAY,
)  # fmt: skip
#: One attempt of a Paymend call; the read timeout defaults to 10 s.
PAYMEND_CALL_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: The webhook endpoint's answer; Kafka's write confirmation is waited for up to 0.35 s by default.
WEBHOOK_RESPONSE_BUCKETS: Final = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: Paymend's event time to our receipt: redeliveries can come hours later.
WEBHOOK_LAG_BUCKETS: Final = (
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, _MINUTE, 5 * _MINUTE, 15 * _MINUTE, _HOUR, 6 * _HOUR,
    _DAY, 3 * _DAY,
)  # fmt: skip


class RecoveryOutcome(enum.StrEnum):
    """How a recovery ended, as counted by `recovery_outcomes_total{outcome}`.

    RECOVERED: the Paymend payment reached AUTHORIZED or CAPTURED. FAILED: Paymend failed it.
    EXPIRED: it stayed PENDING past the recovery window (RECOVERY_WINDOW_EXPIRED, or given up by
    reconciliation). VOIDED / REFUNDED: a stop (order cancelled, paid elsewhere) completed; a
    payment recovered and then voided counts once as RECOVERED and once as VOIDED.
    """

    RECOVERED = "recovered"
    FAILED = "failed"
    EXPIRED = "expired"
    VOIDED = "voided"
    REFUNDED = "refunded"


#: The outcomes the recovery rate divides by: recovered / (recovered + failed + expired).
#: Stopped recoveries (voided, refunded) and those still in flight are excluded.
CONCLUDED_OUTCOMES: Final = (RecoveryOutcome.RECOVERED, RecoveryOutcome.FAILED, RecoveryOutcome.EXPIRED)


class StopAction(enum.StrEnum):
    """The Paymend call that stopped a recovery."""

    VOID = "void"
    REFUND = "refund"


class StopTrigger(enum.StrEnum):
    """The merchant event that asked for the stop."""

    ORDER_CANCELLED = "order_cancelled"
    SETTLED_ELSEWHERE = "settled_elsewhere"


class WebhookRejection(enum.StrEnum):
    """Why the webhook endpoint refused a request."""

    AUTH = "auth"  # token or signature missing or wrong
    INVALID = "invalid"  # not a webhook event we can parse
    TOO_LARGE = "too_large"  # body over WEBHOOK_MAX_BODY_BYTES
    UNAVAILABLE = "unavailable"  # Kafka did not confirm the write in time: 503, Paymend retries


#: Paymend client operation names (`CallObserver`) -> the `operation` label.
_OPERATIONS: Final = {
    "create_payment": "create",
    "create": "create",
    "get_payment": "get",
    "get": "get",
    "capture": "capture",
    "void": "void",
    "refund": "refund",
}
#: `CallObserver` outcomes -> the `status_class` label (anything else is `other`).
_STATUS_CLASSES: Final = frozenset(
    {"1xx", "2xx", "3xx", "4xx", "5xx", "connect", "timeout", "network", "error", "cancelled"}
)
_SAMPLE_SUFFIXES: Final = frozenset({"", "_total", "_bucket", "_sum", "_count"})
_PAYMENT_STATUSES: Final = frozenset({"PENDING", "AUTHORIZED", "CAPTURED", "VOIDED", "REFUNDED", "FAILED"})


@dataclass(frozen=True, slots=True)
class LabelLimits:
    """How many distinct values each open-ended label keeps before mapping new ones to `other`."""

    decline_codes: int = 50
    stores: int = 50
    currencies: int = 30
    topics: int = 32
    error_classes: int = 32
    results: int = 16

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 1:
                raise ValueError(f"LabelLimits.{f.name} must be at least 1")


class BoundedLabel:
    """Maps open-ended values onto at most `limit` label values plus `other` and `unknown`.

    The first `limit` distinct values keep their own label; later new values are `other`. Values
    longer than 64 characters are cut. Thread-safe.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._limit = limit
        self._kept: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str | None) -> str:
        text = (value or "").strip()[:_MAX_LABEL_CHARS]
        if not text:
            return UNKNOWN
        if text in self._kept:
            return text
        with self._lock:
            if text in self._kept:
                return text
            if len(self._kept) < self._limit:
                self._kept.add(text)
                return text
        return OTHER

    @property
    def kept(self) -> frozenset[str]:
        """The values that have their own label so far."""
        with self._lock:
            return frozenset(self._kept)


class Metrics:
    """The service's metrics on one registry, with one method per thing that happens.

    Methods never raise for label values from outside (they are bounded); they raise
    `ValueError` for a value outside a fixed vocabulary (an enum here).
    """

    def __init__(self, registry: CollectorRegistry, *, limits: LabelLimits | None = None) -> None:
        self.registry = registry
        self.limits = limits = limits or LabelLimits()
        self._decline_code = BoundedLabel(limits.decline_codes)
        self._store = BoundedLabel(limits.stores)
        self._currency = BoundedLabel(limits.currencies)
        self._topic = BoundedLabel(limits.topics)
        self._error_class = BoundedLabel(limits.error_classes)
        self._result = BoundedLabel(limits.results)
        self._label_names: dict[str, tuple[str, ...]] = {}

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            self._label_names[PREFIX + name.removesuffix("_total")] = labels
            return Counter(PREFIX + name, doc, labels, registry=registry)

        def histogram(
            name: str, doc: str, buckets: tuple[float, ...], labels: tuple[str, ...] = ()
        ) -> Histogram:
            self._label_names[PREFIX + name] = labels
            return Histogram(PREFIX + name, doc, labels, registry=registry, buckets=buckets)

        def gauge(name: str, doc: str) -> Gauge:
            self._label_names[PREFIX + name] = ()
            return Gauge(PREFIX + name, doc, registry=registry)

        recovery = ("decline_code", "store", "currency")
        # --- recoveries ----------------------------------------------------------------------
        self.recoveries_started = counter(
            "recoveries_started_total",
            "Recoveries started (a Paymend payment created for a declined payment), by the first decline's "
            "providerFailureCode, store and currency.",
            recovery,
        )
        self.recovery_outcomes = counter(
            "recovery_outcomes_total",
            "Recoveries ended, by outcome (recovered, failed, expired, voided, refunded) and the first "
            "decline's code, store and currency. Recovery rate = recovered / (recovered + failed + expired).",
            ("outcome", *recovery),
        )
        self.recovered_amount = counter(
            "recovered_amount_minor_total",
            "Amount recovered, in minor units of the currency (cents); never sum across currencies.",
            ("currency",),
        )
        self.time_to_recover = histogram(
            "time_to_recover_seconds",
            "Seconds from the merchant's first decline to AUTHORIZED or CAPTURED.",
            TIME_TO_RECOVER_BUCKETS,
        )
        self.void_latency = histogram(
            "void_latency_seconds",
            "Seconds from the stop event (order cancelled, settled elsewhere) to VOIDED or REFUNDED.",
            VOID_LATENCY_BUCKETS,
            ("action", "trigger"),
        )
        # --- Paymend calls -------------------------------------------------------------------
        self.paymend_call_duration = histogram(
            "paymend_call_duration_seconds",
            "Seconds per attempt of a Paymend API call, by operation (create, get, capture, void, refund).",
            PAYMEND_CALL_BUCKETS,
            ("operation",),
        )
        self.paymend_calls = counter(
            "paymend_calls_total",
            "Attempts of Paymend API calls, by operation and status class (2xx, 4xx, 5xx, timeout, "
            "connect, network, error, cancelled).",
            ("operation", "status_class"),
        )
        self.paymend_calls_in_flight = gauge(
            "paymend_calls_in_flight", "Paymend API calls in progress in this worker."
        )
        # --- webhooks ------------------------------------------------------------------------
        self.webhooks_received = counter("webhooks_received_total", "Requests to the webhook endpoint.")
        self.webhooks_rejected = counter(
            "webhooks_rejected_total",
            "Webhook requests refused, by reason (auth, invalid, too_large, unavailable).",
            ("reason",),
        )
        self.webhooks_written = counter(
            "webhooks_written_total", "Webhook events written to the raw webhook topic (answered 2xx)."
        )
        self.webhooks_duplicate = counter(
            "webhooks_duplicate_total", "Webhook events whose event ID was processed before (ignored)."
        )
        self.webhooks_stale = counter(
            "webhooks_stale_total",
            "Webhook events announcing a status older than the payment's state (ignored).",
        )
        self.webhook_request_duration = histogram(
            "webhook_request_duration_seconds",
            "Seconds the webhook endpoint took to answer, by status class.",
            WEBHOOK_RESPONSE_BUCKETS,
            ("status_class",),
        )
        self.webhook_lag = histogram(
            "webhook_lag_seconds",
            "Seconds from Paymend's event time to our receipt of the webhook (0 if its clock is ahead).",
            WEBHOOK_LAG_BUCKETS,
        )
        # --- processing ----------------------------------------------------------------------
        self.dead_letters = counter(
            "dead_letters_total",
            "Messages sent to the dead-letter topic, by source topic and reason (error class).",
            ("source_topic", "reason"),
        )
        self.conflicts = counter(
            "conflicts_total",
            "Impossible status transitions reported (written to the conflicts topic), by from/to status.",
            ("from_status", "to_status"),
        )
        self.events_processed = counter(
            "events_processed_total", "Input events handled, by topic and result.", ("topic", "result")
        )
        self.payments_pending = gauge(
            "payments_pending", "Recoveries in flight: Paymend payments created and not yet final."
        )
        self.payments_stuck = gauge(
            "payments_stuck",
            "Payments PENDING longer than the recovery window at the last reconciliation scan.",
        )

    # --- recoveries ----------------------------------------------------------------------------

    def recovery_started(
        self, *, decline_code: str | None, store_id: str | None, currency: str | None
    ) -> None:
        """A Paymend payment was created for a declined payment (count once per recovery)."""
        self.recoveries_started.labels(*self._recovery_labels(decline_code, store_id, currency)).inc()

    def recovery_recovered(
        self,
        *,
        decline_code: str | None,
        store_id: str | None,
        currency: str | None,
        amount_minor: int,
        seconds_to_recover: float,
    ) -> None:
        """The payment reached AUTHORIZED or CAPTURED for the first time: outcome, amount, time."""
        labels = self._recovery_labels(decline_code, store_id, currency)
        self.recovery_outcomes.labels(RecoveryOutcome.RECOVERED.value, *labels).inc()
        self.recovered_amount.labels(labels[2]).inc(max(0, amount_minor))
        self.time_to_recover.observe(max(0.0, seconds_to_recover))

    def recovery_failed(
        self, *, decline_code: str | None, store_id: str | None, currency: str | None
    ) -> None:
        """Paymend failed the payment (not an expiry of the recovery window)."""
        self._outcome(RecoveryOutcome.FAILED, decline_code, store_id, currency)

    def recovery_expired(
        self, *, decline_code: str | None, store_id: str | None, currency: str | None
    ) -> None:
        """The payment stayed PENDING past the recovery window."""
        self._outcome(RecoveryOutcome.EXPIRED, decline_code, store_id, currency)

    def recovery_stopped(
        self,
        action: StopAction | str,
        *,
        trigger: StopTrigger | str,
        seconds: float | None,
        decline_code: str | None,
        store_id: str | None,
        currency: str | None,
    ) -> None:
        """A stop completed: the payment is VOIDED (action void) or REFUNDED (action refund).

        `seconds`: from the stop event to the final status; None when unknown (not observed).
        """
        action, trigger = StopAction(action), StopTrigger(trigger)
        outcome = RecoveryOutcome.VOIDED if action is StopAction.VOID else RecoveryOutcome.REFUNDED
        self._outcome(outcome, decline_code, store_id, currency)
        if seconds is not None:
            self.void_latency.labels(action.value, trigger.value).observe(max(0.0, seconds))

    # --- Paymend calls -------------------------------------------------------------------------

    def observe_paymend_call(self, operation: str, outcome: str, seconds: float, /) -> None:
        """One attempt of a Paymend call; matches `streams.paymend.CallObserver`. Never raises."""
        op = _OPERATIONS.get(operation, OTHER)
        status_class = outcome if outcome in _STATUS_CLASSES else OTHER
        self.paymend_calls.labels(op, status_class).inc()
        self.paymend_call_duration.labels(op).observe(max(0.0, seconds))

    def paymend_call_in_flight(self) -> AbstractContextManager[None]:
        """`with metrics.paymend_call_in_flight(): await port.create_payment(...)`."""
        return _track(self.paymend_calls_in_flight)

    # --- webhooks ------------------------------------------------------------------------------

    def webhook_received(self) -> None:
        """A request reached the webhook endpoint (before any check)."""
        self.webhooks_received.inc()

    def webhook_rejected(self, reason: WebhookRejection | str) -> None:
        """The endpoint refused a request (see `WebhookRejection`)."""
        self.webhooks_rejected.labels(WebhookRejection(reason).value).inc()

    def webhook_written(self) -> None:
        """A webhook event was written to the raw topic and answered 2xx."""
        self.webhooks_written.inc()

    def webhook_duplicate(self) -> None:
        """An event whose event ID was processed before."""
        self.webhooks_duplicate.inc()

    def webhook_stale(self) -> None:
        """An event announcing a status the payment is already past."""
        self.webhooks_stale.inc()

    def observe_webhook_response(self, status: int, seconds: float) -> None:
        """The endpoint answered HTTP `status` after `seconds`."""
        status_class = f"{status // 100}xx" if 100 <= status < 600 else OTHER
        self.webhook_request_duration.labels(status_class).observe(max(0.0, seconds))

    def observe_webhook_lag(self, event_time: datetime, received_at: datetime) -> None:
        """Paymend's event time to our receipt (both timezone-aware); negative skew counts as 0."""
        self.webhook_lag.observe(max(0.0, (received_at - event_time).total_seconds()))

    # --- processing ----------------------------------------------------------------------------

    def dead_letter(self, source_topic: str, error_class: str) -> None:
        """A message went to the dead-letter topic; `error_class` as in `DeadLetter.errorClass`."""
        self.dead_letters.labels(self._topic(source_topic), self._error_class(error_class)).inc()

    def conflict(self, from_status: str | None, to_status: str | None) -> None:
        """An impossible transition (e.g. VOIDED -> CAPTURED) was reported."""
        self.conflicts.labels(_status_label(from_status), _status_label(to_status)).inc()

    def event_processed(self, topic: str, result: str) -> None:
        """An input event was handled; `result` is a short fixed word (ok, duplicate, dead_letter, ...)."""
        self.events_processed.labels(self._topic(topic), self._result(result)).inc()

    def payment_became_pending(self) -> None:
        """A recovery is now in flight (its Paymend payment created, not final)."""
        self.payments_pending.inc()

    def payment_left_pending(self) -> None:
        """A recovery in flight reached a final status."""
        self.payments_pending.dec()

    def set_payments_pending(self, count: int) -> None:
        """Reset the in-flight count from a scan (after a rebalance the inc/dec count is partial)."""
        self.payments_pending.set(count)

    def set_payments_stuck(self, count: int) -> None:
        """Result of a reconciliation scan: payments PENDING past the recovery window."""
        self.payments_stuck.set(count)

    # --- introspection -------------------------------------------------------------------------

    def series_names(self) -> frozenset[str]:
        """The sample names exposed (`x_total`, `x_bucket`/`x_sum`/`x_count`, gauges as is).

        For contract tests: every name a recording rule or dashboard queries must be in here.
        """
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
        names: set[str] = set()
        for family in self.registry.collect():
            if family.name in self._label_names:  # ours, not other collectors on the registry
                names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
        return frozenset(names)

    def label_names(self) -> dict[str, tuple[str, ...]]:
        """Declared label names by sample name (`series_names()`); histograms also have `le`."""
        out: dict[str, tuple[str, ...]] = {}
        for name in self.series_names():
            for family, labels in self._label_names.items():
                if name.startswith(family) and name[len(family) :] in _SAMPLE_SUFFIXES:
                    out[name] = (*labels, "le") if name.endswith("_bucket") else labels
        return out

    # --- helpers -------------------------------------------------------------------------------

    def _recovery_labels(
        self, decline_code: str | None, store_id: str | None, currency: str | None
    ) -> tuple[str, str, str]:
        return self._decline_code(decline_code), self._store(store_id), self._currency(currency)

    def _outcome(
        self, outcome: RecoveryOutcome, decline_code: str | None, store_id: str | None, currency: str | None
    ) -> None:
        labels = self._recovery_labels(decline_code, store_id, currency)
        self.recovery_outcomes.labels(outcome.value, *labels).inc()


def _status_label(status: str | None) -> str:
    if not status:
        return "none"
    upper = str(status).upper()
    return upper if upper in _PAYMENT_STATUSES else OTHER


@contextmanager
def _track(gauge: Gauge) -> Iterator[None]:
    """The gauge is one higher while the block runs (cancellation included)."""
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()
