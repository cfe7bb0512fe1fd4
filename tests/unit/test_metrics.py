"""`Metrics`: each method moves the right series, labels stay bounded, names follow the rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.utils import floatToGoString

from streams.metrics import (
    PREFIX,
    BoundedLabel,
    LabelLimits,
    Metrics,
    RecoveryOutcome,
    StopAction,
    StopTrigger,
    WebhookRejection,
)
from streams.paymend import CallObserver, PaymendClient
from streams.settings import Secret, Settings
from tests.unit.paymend_builders import payment_json

LABELS = {"decline_code": "51", "store": "store-us", "currency": "USD"}
KW = {"decline_code": "51", "store_id": "store-us", "currency": "USD"}


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


def value(metrics: Metrics, name: str, **labels: str) -> float:
    """The sample's value, 0 when the series does not exist yet."""
    got = metrics.registry.get_sample_value(PREFIX + name, labels)
    return 0.0 if got is None else got


# --- naming ------------------------------------------------------------------------------------


def test_every_metric_is_prefixed_and_named_with_its_unit(metrics: Metrics) -> None:
    families = list(metrics.registry.collect())
    assert len(families) == 20
    for family in families:
        assert family.name.startswith(PREFIX), family.name
        assert re.fullmatch(r"[a-z_]+", family.name), family.name
        assert family.documentation, f"{family.name} has no help text"
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name
        if family.type == "gauge":
            assert not family.name.endswith("_total"), family.name
    assert all(name.endswith("_total") for name in metrics.series_names() if "total" in name)


def test_two_instances_on_separate_registries_do_not_clash() -> None:
    first, second = Metrics(CollectorRegistry()), Metrics(CollectorRegistry())
    first.webhook_received()

    assert value(first, "webhooks_received_total") == 1
    assert value(second, "webhooks_received_total") == 0


def test_series_names_are_ours_only_even_on_a_shared_registry() -> None:
    registry = CollectorRegistry()
    Counter("faust_messages_received", "another collector on the same registry", registry=registry)
    metrics = Metrics(registry)

    assert "faust_messages_received_total" not in metrics.series_names()
    assert "paymend_streams_recoveries_started_total" in metrics.series_names()
    assert set(metrics.label_names()) == metrics.series_names()
    assert metrics.label_names()["paymend_streams_void_latency_seconds_bucket"] == ("action", "trigger", "le")


def test_labels_are_the_bounded_dimensions_only(metrics: Metrics) -> None:
    """Every label name in use is one of a known, bounded set (so never a payment ID)."""
    metrics.recovery_started(**KW)
    metrics.recovery_recovered(**KW, amount_minor=100, seconds_to_recover=5.0)
    metrics.recovery_stopped("void", trigger="order_cancelled", seconds=1.0, **KW)
    metrics.observe_paymend_call("create_payment", "2xx", 0.1)
    metrics.webhook_rejected("auth")
    metrics.observe_webhook_response(200, 0.01)
    metrics.dead_letter("t", "E")
    metrics.conflict("VOIDED", "CAPTURED")
    metrics.event_processed("t", "ok")

    allowed = {"decline_code", "store", "currency", "outcome", "action", "trigger", "operation"}
    allowed |= {"status_class", "reason", "source_topic", "from_status", "to_status", "topic", "result", "le"}
    used = {name for family in metrics.registry.collect() for s in family.samples for name in s.labels}
    assert used <= allowed
    assert len(used) >= len(allowed) - 1  # and the exercise above reached (nearly) all of them


# --- recoveries --------------------------------------------------------------------------------


def test_recovery_started_counts_by_code_store_currency(metrics: Metrics) -> None:
    metrics.recovery_started(**KW)
    metrics.recovery_started(**KW)
    metrics.recovery_started(decline_code="05", store_id="store-eu", currency="EUR")

    assert value(metrics, "recoveries_started_total", **LABELS) == 2
    assert (
        value(metrics, "recoveries_started_total", decline_code="05", store="store-eu", currency="EUR") == 1
    )


def test_recovered_counts_the_outcome_the_amount_and_the_time(metrics: Metrics) -> None:
    metrics.recovery_recovered(**KW, amount_minor=12_999, seconds_to_recover=90.0)
    metrics.recovery_recovered(**KW, amount_minor=1, seconds_to_recover=3 * 86400.0)

    assert value(metrics, "recovery_outcomes_total", outcome="recovered", **LABELS) == 2
    assert value(metrics, "recovered_amount_minor_total", currency="USD") == 13_000
    assert value(metrics, "time_to_recover_seconds_count") == 2
    assert value(metrics, "time_to_recover_seconds_sum") == 90.0 + 3 * 86400.0
    assert value(metrics, "time_to_recover_seconds_bucket", le="300.0") == 1
    assert value(metrics, "time_to_recover_seconds_bucket", le="345600.0") == 2  # 4 days


def test_time_to_recover_buckets_span_seconds_to_fourteen_days(metrics: Metrics) -> None:
    metrics.recovery_recovered(**KW, amount_minor=1, seconds_to_recover=14 * 86400.0 - 1)

    assert value(metrics, "time_to_recover_seconds_bucket", le="1.0") == 0
    fourteen_days = floatToGoString(14 * 86400.0)  # the exposition's spelling: "1.2096e+06"
    assert value(metrics, "time_to_recover_seconds_bucket", le=fourteen_days) == 1
    assert value(metrics, "time_to_recover_seconds_bucket", le="+Inf") == 1


@pytest.mark.parametrize(
    ("method", "outcome"),
    [("recovery_failed", RecoveryOutcome.FAILED), ("recovery_expired", RecoveryOutcome.EXPIRED)],
)
def test_failed_and_expired_are_outcomes(metrics: Metrics, method: str, outcome: RecoveryOutcome) -> None:
    getattr(metrics, method)(**KW)

    assert value(metrics, "recovery_outcomes_total", outcome=outcome.value, **LABELS) == 1
    other = {RecoveryOutcome.FAILED, RecoveryOutcome.EXPIRED} - {outcome}
    assert value(metrics, "recovery_outcomes_total", outcome=other.pop().value, **LABELS) == 0


@pytest.mark.parametrize(
    ("action", "outcome"), [(StopAction.VOID, "voided"), (StopAction.REFUND, "refunded")]
)
def test_a_stop_counts_its_outcome_and_the_void_latency(
    metrics: Metrics, action: StopAction, outcome: str
) -> None:
    metrics.recovery_stopped(action, trigger=StopTrigger.ORDER_CANCELLED, seconds=0.8, **KW)
    metrics.recovery_stopped(action.value, trigger="settled_elsewhere", seconds=None, **KW)

    assert value(metrics, "recovery_outcomes_total", outcome=outcome, **LABELS) == 2
    latency = {"action": action.value, "trigger": "order_cancelled"}
    assert value(metrics, "void_latency_seconds_count", **latency) == 1
    assert value(metrics, "void_latency_seconds_bucket", le="1.0", **latency) == 1
    assert value(metrics, "void_latency_seconds_bucket", le="0.5", **latency) == 0
    assert value(metrics, "void_latency_seconds_count", action=action.value, trigger="settled_elsewhere") == 0


def test_fixed_vocabularies_refuse_unknown_values(metrics: Metrics) -> None:
    with pytest.raises(ValueError, match="'cancel'"):
        metrics.recovery_stopped("cancel", trigger="order_cancelled", seconds=1.0, **KW)
    with pytest.raises(ValueError, match="'timeout'"):
        metrics.recovery_stopped("void", trigger="timeout", seconds=1.0, **KW)
    with pytest.raises(ValueError, match="'forbidden'"):
        metrics.webhook_rejected("forbidden")


def test_negative_durations_and_amounts_are_clamped(metrics: Metrics) -> None:
    metrics.recovery_recovered(**KW, amount_minor=-5, seconds_to_recover=-1.0)

    assert value(metrics, "recovered_amount_minor_total", currency="USD") == 0
    assert value(metrics, "time_to_recover_seconds_bucket", le="0.5") == 1


# --- label bounding ----------------------------------------------------------------------------


def test_the_code_after_the_first_n_becomes_other(metrics: Metrics) -> None:
    limit = metrics.limits.decline_codes
    codes = [f"{i:02d}" for i in range(limit + 1)]
    for code in codes:
        metrics.recovery_started(decline_code=code, store_id="s", currency="USD")
    metrics.recovery_started(decline_code=codes[0], store_id="s", currency="USD")  # a kept one stays

    started = {"store": "s", "currency": "USD"}
    assert value(metrics, "recoveries_started_total", decline_code=codes[0], **started) == 2
    assert value(metrics, "recoveries_started_total", decline_code=codes[limit - 1], **started) == 1
    assert value(metrics, "recoveries_started_total", decline_code=codes[limit], **started) == 0
    assert value(metrics, "recoveries_started_total", decline_code="other", **started) == 1
    # the same code is `other` in the outcome counter too: series of one recovery line up
    metrics.recovery_failed(decline_code=codes[limit], store_id="s", currency="USD")
    assert value(metrics, "recovery_outcomes_total", outcome="failed", decline_code="other", **started) == 1


@pytest.mark.parametrize(
    ("limits", "kw", "label"),
    [
        (LabelLimits(stores=2), "store_id", "store"),
        (LabelLimits(currencies=2), "currency", "currency"),
    ],
)
def test_stores_and_currencies_are_bounded_the_same_way(limits: LabelLimits, kw: str, label: str) -> None:
    metrics = Metrics(CollectorRegistry(), limits=limits)
    base = {"decline_code": "05", "store_id": "s1", "currency": "USD"}
    for v in ("AAA", "BBB", "CCC", "DDD"):
        metrics.recovery_started(**{**base, kw: v})

    labels = {"decline_code": "05", "store": "s1", "currency": "USD"}
    assert value(metrics, "recoveries_started_total", **{**labels, label: "BBB"}) == 1
    assert value(metrics, "recoveries_started_total", **{**labels, label: "other"}) == 2


def test_bounded_label_maps_missing_values_to_unknown_and_cuts_long_ones() -> None:
    label = BoundedLabel(3)

    assert label(None) == label("") == label("  ") == "unknown"
    assert label("x" * 200) == "x" * 64
    assert label(" 05 ") == "05"
    assert label("51") == "51"
    assert label("54") == "other"
    assert label.kept == {"x" * 64, "05", "51"}


def test_label_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="decline_codes"):
        LabelLimits(decline_codes=0)


# --- Paymend calls -----------------------------------------------------------------------------


def test_observe_paymend_call_counts_by_operation_and_status_class(metrics: Metrics) -> None:
    metrics.observe_paymend_call("create_payment", "2xx", 0.12)
    metrics.observe_paymend_call("create_payment", "timeout", 10.0)
    metrics.observe_paymend_call("void", "4xx", 0.03)
    metrics.observe_paymend_call("teleport", "7xx", 0.01)  # never raises: bounded to `other`

    assert value(metrics, "paymend_calls_total", operation="create", status_class="2xx") == 1
    assert value(metrics, "paymend_calls_total", operation="create", status_class="timeout") == 1
    assert value(metrics, "paymend_calls_total", operation="void", status_class="4xx") == 1
    assert value(metrics, "paymend_calls_total", operation="other", status_class="other") == 1
    assert value(metrics, "paymend_call_duration_seconds_count", operation="create") == 2
    assert value(metrics, "paymend_call_duration_seconds_bucket", operation="create", le="0.25") == 1


async def test_observe_paymend_call_plugs_into_the_paymend_client(metrics: Metrics) -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, json=payment_json())])
    observer: CallObserver = metrics.observe_paymend_call

    async def no_sleep(_: float) -> None:
        return None

    client = PaymendClient.from_settings(
        Settings(paymend_api_token=Secret("t"), paymend_base_url="http://paymend.test"),
        transport=httpx.MockTransport(lambda _: next(answers)),
        sleep=no_sleep,
        observer=observer,
    )
    async with client:
        await client.get_payment("pay_1")

    assert value(metrics, "paymend_calls_total", operation="get", status_class="5xx") == 1
    assert value(metrics, "paymend_calls_total", operation="get", status_class="2xx") == 1


async def test_in_flight_gauge_goes_up_during_the_call_and_down_after(metrics: Metrics) -> None:
    with metrics.paymend_call_in_flight():
        assert value(metrics, "paymend_calls_in_flight") == 1
        with metrics.paymend_call_in_flight():
            assert value(metrics, "paymend_calls_in_flight") == 2
    assert value(metrics, "paymend_calls_in_flight") == 0

    with pytest.raises(RuntimeError), metrics.paymend_call_in_flight():
        raise RuntimeError("the call failed")
    assert value(metrics, "paymend_calls_in_flight") == 0


# --- webhooks ----------------------------------------------------------------------------------


def test_webhook_counters(metrics: Metrics) -> None:
    for _ in range(5):
        metrics.webhook_received()
    metrics.webhook_rejected(WebhookRejection.AUTH)
    metrics.webhook_rejected("too_large")
    metrics.webhook_written()
    metrics.webhook_written()
    metrics.webhook_duplicate()
    metrics.webhook_stale()

    assert value(metrics, "webhooks_received_total") == 5
    assert value(metrics, "webhooks_rejected_total", reason="auth") == 1
    assert value(metrics, "webhooks_rejected_total", reason="too_large") == 1
    assert value(metrics, "webhooks_rejected_total", reason="invalid") == 0
    assert value(metrics, "webhooks_written_total") == 2
    assert value(metrics, "webhooks_duplicate_total") == 1
    assert value(metrics, "webhooks_stale_total") == 1


def test_webhook_response_latency_by_status_class(metrics: Metrics) -> None:
    metrics.observe_webhook_response(200, 0.004)
    metrics.observe_webhook_response(503, 0.36)
    metrics.observe_webhook_response(999, 0.1)

    assert value(metrics, "webhook_request_duration_seconds_bucket", status_class="2xx", le="0.005") == 1
    assert value(metrics, "webhook_request_duration_seconds_bucket", status_class="5xx", le="0.25") == 0
    assert value(metrics, "webhook_request_duration_seconds_bucket", status_class="5xx", le="0.5") == 1
    assert value(metrics, "webhook_request_duration_seconds_count", status_class="other") == 1


def test_webhook_lag_from_event_time_to_receipt(metrics: Metrics) -> None:
    received = datetime(2026, 1, 1, 12, tzinfo=UTC)
    metrics.observe_webhook_lag(received - timedelta(seconds=2), received)
    metrics.observe_webhook_lag(received + timedelta(seconds=3), received)  # Paymend's clock ahead

    assert value(metrics, "webhook_lag_seconds_count") == 2
    assert value(metrics, "webhook_lag_seconds_sum") == 2.0
    assert value(metrics, "webhook_lag_seconds_bucket", le="0.1") == 1


# --- processing --------------------------------------------------------------------------------


def test_dead_letters_by_source_topic_and_error_class(metrics: Metrics) -> None:
    metrics.dead_letter("payments.declines.v1", "InvalidFieldError")
    metrics.dead_letter("payments.declines.v1", "InvalidFieldError")
    metrics.dead_letter("orders.cancelled.v1", "UndecodableError")

    got = value(
        metrics, "dead_letters_total", source_topic="payments.declines.v1", reason="InvalidFieldError"
    )
    assert got == 2
    assert (
        value(metrics, "dead_letters_total", source_topic="orders.cancelled.v1", reason="UndecodableError")
        == 1
    )


def test_dead_letter_reasons_are_bounded() -> None:
    metrics = Metrics(CollectorRegistry(), limits=LabelLimits(error_classes=1))
    metrics.dead_letter("t", "InvalidFieldError")
    metrics.dead_letter("t", "Error: card 4111 1111 1111 1111 refused")  # free text must not explode

    assert value(metrics, "dead_letters_total", source_topic="t", reason="other") == 1


def test_conflicts_by_transition_with_bounded_statuses(metrics: Metrics) -> None:
    metrics.conflict("VOIDED", "CAPTURED")
    metrics.conflict(None, "refunded")
    metrics.conflict("pay_123", "CAPTURED")

    assert value(metrics, "conflicts_total", from_status="VOIDED", to_status="CAPTURED") == 1
    assert value(metrics, "conflicts_total", from_status="none", to_status="REFUNDED") == 1
    assert value(metrics, "conflicts_total", from_status="other", to_status="CAPTURED") == 1


def test_events_processed_by_topic_and_result(metrics: Metrics) -> None:
    metrics.event_processed("payments.declines.v1", "ok")
    metrics.event_processed("payments.declines.v1", "duplicate")
    metrics.event_processed("payments.declines.v1", "ok")

    assert value(metrics, "events_processed_total", topic="payments.declines.v1", result="ok") == 2
    assert value(metrics, "events_processed_total", topic="payments.declines.v1", result="duplicate") == 1


def test_pending_and_stuck_gauges(metrics: Metrics) -> None:
    metrics.payment_became_pending()
    metrics.payment_became_pending()
    metrics.payment_left_pending()
    assert value(metrics, "payments_pending") == 1

    metrics.set_payments_pending(7)
    metrics.set_payments_stuck(3)
    assert value(metrics, "payments_pending") == 7
    assert value(metrics, "payments_stuck") == 3
    metrics.set_payments_stuck(0)
    assert value(metrics, "payments_stuck") == 0
