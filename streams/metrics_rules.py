"""The Prometheus recording and alerting rules of the service, and their YAML files.

Source of truth for `deploy/prometheus/recording-rules.yml` (`rule_groups()`) and
`deploy/prometheus/alerts.yml` (`alert_groups()`); tests check the files are their renderings,
that every metric the expressions read is one the service exports, and run `promtool` on them.
Regenerate both files after a change:

    .venv/bin/python -m streams.metrics_rules --write

Names follow Prometheus' `level:metric:operations` convention: `level` is the labels kept
(`job`, `job_decline_code`, ...), `metric` the metric name without `_total`, `operations` what was
applied, newest first (`ratio_rate1h`); a ratio names its two sides with `_per_`. Quantiles are one
record name per level with a `quantile` label, as the kube-prometheus mixins do.

Recovery rate = recovered / (recovered + failed + expired): the outcomes counted in the window;
voided and refunded recoveries (stopped by the merchant) and those still in flight are excluded.
A series appears only where some recovery concluded in the window (no division by zero).

Alerts read the recording rules where one exists, our metrics, faust's (`faust_` prefix: consumer
lag is end offset minus committed offset per partition) and Prometheus' own `up` for the scrape
job, which must match `JOB_MATCHER` (the Helm chart's Service name contains `paymend-streams`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = [
    "ALERTS_FILE",
    "JOB_MATCHER",
    "RULES_FILE",
    "AlertGroup",
    "AlertingRule",
    "RecordingRule",
    "RuleGroup",
    "alert_groups",
    "main",
    "render_alerts_yaml",
    "render_yaml",
    "rule_groups",
]

_PROMETHEUS_DIR: Final = Path(__file__).resolve().parents[1] / "deploy" / "prometheus"
#: The rendered files, in the repository (this package is installed editable there).
RULES_FILE: Final = _PROMETHEUS_DIR / "recording-rules.yml"
ALERTS_FILE: Final = _PROMETHEUS_DIR / "alerts.yml"
#: Label matcher of the scrape job(s) of the worker, for `up`.
JOB_MATCHER: Final = 'job=~".*paymend-streams.*"'

_OUTCOMES: Final = "paymend_streams_recovery_outcomes_total"
_TIME_TO_RECOVER: Final = "paymend_streams_time_to_recover_seconds_bucket"
_VOID_LATENCY: Final = "paymend_streams_void_latency_seconds_bucket"
_PAYMEND_CALLS: Final = "paymend_streams_paymend_calls_total"

#: Recovery rate levels: (level name, labels kept).
_RECOVERY_LEVELS: Final = (
    ("job", ("job",)),
    ("job_decline_code", ("job", "decline_code")),
    ("job_store", ("job", "store")),
    ("job_currency", ("job", "currency")),
)
_RECOVERY_WINDOWS: Final = ("1h", "1d")
_CONCLUDED: Final = "recovered|failed|expired"
#: Paymend call attempts that count as errors (Paymend unavailable), and as rejections (4xx).
_CALL_ERRORS: Final = "5xx|timeout|connect|network|error"


@dataclass(frozen=True, slots=True)
class RecordingRule:
    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuleGroup:
    name: str
    interval: str
    rules: tuple[RecordingRule, ...]


def _by(labels: Sequence[str]) -> str:
    return f"by ({', '.join(labels)})"


def _ratio(numerator: str, denominator: str, labels: Sequence[str]) -> str:
    """sum(numerator) / sum(denominator), by `labels`: 0 (not absent) when the numerator has no
    series for a group, and absent (not NaN) where the denominator is 0."""
    by = _by(labels)
    return (
        f"(\n  sum {by} ({numerator})\nor\n  sum {by} ({denominator}) * 0\n)\n"
        f"/\n(sum {by} ({denominator}) > 0)"
    )


def _recovery_rules() -> tuple[RecordingRule, ...]:
    rules: list[RecordingRule] = []
    for window in _RECOVERY_WINDOWS:
        for level, labels in _RECOVERY_LEVELS:
            outcome_rate = f"{level}_outcome:paymend_streams_recovery_outcomes:rate{window}"
            rules.append(
                RecordingRule(
                    outcome_rate,
                    f"sum {_by([*labels, 'outcome'])} (rate({_OUTCOMES}[{window}]))",
                )
            )
            rules.append(
                RecordingRule(
                    f"{level}:paymend_streams_recovery_outcomes_recovered_per_concluded:ratio_rate{window}",
                    _ratio(
                        f'{outcome_rate}{{outcome="recovered"}}',
                        f'{outcome_rate}{{outcome=~"{_CONCLUDED}"}}',
                        labels,
                    ),
                )
            )
    return tuple(rules)


def _quantiles(
    record: str, bucket: str, labels: Sequence[str], window: str, quantiles: Sequence[str]
) -> list[RecordingRule]:
    return [
        RecordingRule(
            record,
            f"histogram_quantile({q}, sum {_by([*labels, 'le'])} (rate({bucket}[{window}])))",
            {"quantile": q},
        )
        for q in quantiles
    ]


def _latency_rules() -> tuple[RecordingRule, ...]:
    rules: list[RecordingRule] = []
    for window in ("1h", "1d"):
        rules += _quantiles(
            f"job_quantile:paymend_streams_time_to_recover_seconds:histogram_quantile_rate{window}",
            _TIME_TO_RECOVER,
            ("job",),
            window,
            ("0.5", "0.9", "0.99"),
        )
    for window in ("1h", "1d"):
        rules += _quantiles(
            f"job_action_quantile:paymend_streams_void_latency_seconds:histogram_quantile_rate{window}",
            _VOID_LATENCY,
            ("job", "action"),
            window,
            ("0.5", "0.99"),
        )
    return tuple(rules)


def _paymend_rules() -> tuple[RecordingRule, ...]:
    rules: list[RecordingRule] = []
    for window in ("5m", "1h"):
        calls = f"job_operation_status_class:paymend_streams_paymend_calls:rate{window}"
        rules.append(
            RecordingRule(
                calls, f"sum {_by(('job', 'operation', 'status_class'))} (rate({_PAYMEND_CALLS}[{window}]))"
            )
        )
        for name, classes in (("errors", _CALL_ERRORS), ("rejections", "4xx")):
            rules.append(
                RecordingRule(
                    f"job_operation:paymend_streams_paymend_calls_{name}_per_calls:ratio_rate{window}",
                    _ratio(f'{calls}{{status_class=~"{classes}"}}', calls, ("job", "operation")),
                )
            )
    return tuple(rules)


def rule_groups() -> tuple[RuleGroup, ...]:
    """Every recording rule, in evaluation order (a rule may read one recorded before it)."""
    return (
        RuleGroup("paymend-streams-recovery", "1m", _recovery_rules()),
        RuleGroup("paymend-streams-latency", "1m", _latency_rules()),
        RuleGroup("paymend-streams-paymend-api", "30s", _paymend_rules()),
    )


# --- alerts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertingRule:
    """One alert: fires when `expr` has a result for `for_`; `description` ends with runbook steps."""

    alert: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str


@dataclass(frozen=True, slots=True)
class AlertGroup:
    name: str
    interval: str
    rules: tuple[AlertingRule, ...]


_RECOVERY_RATE: Final = "job:paymend_streams_recovery_outcomes_recovered_per_concluded:ratio_rate{window}"
_CONCLUDED_1H: Final = f'job_outcome:paymend_streams_recovery_outcomes:rate1h{{outcome=~"{_CONCLUDED}"}}'
#: The 1 h recovery rate below this share of the 1 d rate is a drop.
RECOVERY_DROP_FACTOR: Final = 0.8
#: ... when at least this many recoveries concluded in the hour (fewer is noise).
RECOVERY_DROP_MIN_CONCLUDED: Final = 20
PAYMEND_ERROR_RATIO: Final = 0.1
WEBHOOK_REJECTED_RATIO: Final = 0.05
CONSUMER_LAG_MESSAGES: Final = 1000


def _recovery_alerts() -> tuple[AlertingRule, ...]:
    rate1h, rate1d = _RECOVERY_RATE.format(window="1h"), _RECOVERY_RATE.format(window="1d")
    return (
        AlertingRule(
            "PaymendStreamsRecoveryRateDrop",
            f"{rate1h}\n< {RECOVERY_DROP_FACTOR} * {rate1d}\n"
            f"and on (job)\nsum by (job) ({_CONCLUDED_1H}) * 3600 >= {RECOVERY_DROP_MIN_CONCLUDED}",
            "30m",
            "warning",
            "Recovery rate of {{ $labels.job }} dropped below 80% of its 1-day average",
            "The share of concluded recoveries that were recovered over the last hour is "
            "{{ $value | humanizePercentage }} and below 80% of the 1-day rate.\n"
            "Runbook: split the rate by decline code, store and currency on the dashboard "
            "(job_*:paymend_streams_recovery_outcomes_recovered_per_concluded:ratio_rate1h) to find "
            "the segment; check the outcomes panel (failed vs expired) and the Paymend error ratio; "
            "a new decline code or store usually means a merchant-side change, a drop everywhere a "
            "Paymend-side one (ask Paymend support).",
        ),
        AlertingRule(
            "PaymendStreamsPaymentsStuck",
            "max by (job) (paymend_streams_payments_stuck) > 0",
            "15m",
            "warning",
            "{{ $value }} payments are PENDING past the recovery window ({{ $labels.job }})",
            "The last reconciliation scan found payments still PENDING longer than RECOVERY_WINDOW_S.\n"
            "Runbook: the worker logs the count at each scan; find the payments on the status topic "
            "(TOPIC_STATUS, last status PENDING) and query each with GET /v1/payments/{id}; "
            "if Paymend reports a final status, check that its webhooks reach "
            "the worker (PaymendStreamsWebhooksRejected, ingress); if Paymend still says PENDING, "
            "escalate to Paymend with the payment IDs. Check RECOVERY_WINDOW_S matches Paymend's window.",
        ),
    )


def _processing_alerts() -> tuple[AlertingRule, ...]:
    lag = (
        "faust_topic_partition_end_offset\n"
        "- on (job, instance, topic, partition)\nfaust_topic_partition_offset_commited"
    )
    return (
        AlertingRule(
            "PaymendStreamsDeadLettersRising",
            "sum by (job, source_topic, reason) (increase(paymend_streams_dead_letters_total[10m])) > 0",
            "5m",
            "warning",
            "Messages from {{ $labels.source_topic }} go to the dead-letter topic ({{ $labels.reason }})",
            "{{ $value | humanize }} messages from {{ $labels.source_topic }} were dead-lettered in "
            "10 minutes, reason {{ $labels.reason }}.\n"
            "Runbook: read the dead-letter topic (TOPIC_DEAD_LETTERS): each record has the reason and "
            "the original topic, partition and offset. Bad input: fix the producer, then replay the "
            "originals. Paymend rejections (4xx): check the request against Paymend's API changes.",
        ),
        AlertingRule(
            "PaymendStreamsConsumerLag",
            f"sum by (job, topic) (\n{lag}\n) > {CONSUMER_LAG_MESSAGES}",
            "15m",
            "warning",
            "Consumer lag of {{ $labels.job }} on {{ $labels.topic }} is {{ $value | humanize }} messages",
            "faust's end offset minus committed offset, summed over the topic's partitions, stayed over "
            f"{CONSUMER_LAG_MESSAGES} for 15 minutes.\n"
            "Runbook: check the workers are ready and not restarting; check the Paymend call latency "
            "and error panels (a slow Paymend stalls the pipeline); scale out up to the partition "
            "count (TOPIC_PARTITIONS). With kafka-exporter, kafka_consumergroup_lag{consumergroup=APP_ID} "
            "gives the same number from the broker's side.",
        ),
    )


def _paymend_alerts() -> tuple[AlertingRule, ...]:
    return (
        AlertingRule(
            "PaymendStreamsPaymendErrorRatioHigh",
            "job_operation:paymend_streams_paymend_calls_errors_per_calls:ratio_rate5m"
            f" > {PAYMEND_ERROR_RATIO}",
            "10m",
            "critical",
            "{{ $value | humanizePercentage }} of Paymend {{ $labels.operation }} calls fail",
            "Paymend call attempts answered 5xx or failed with a timeout, connect or network error "
            f"above {PAYMEND_ERROR_RATIO:.0%} for 10 minutes; calls are retried "
            "(PAYMEND_RETRY_ATTEMPTS), then again by the pipeline, with backoff, until Paymend answers.\n"
            "Runbook: check Paymend's status page and the call latency panel; check egress from the "
            "cluster (DNS, proxy, TLS); a spike of `timeout` alone may need PAYMEND_READ_TIMEOUT_S "
            "reviewed. Nothing is lost: the input stays unacknowledged until its call is answered.",
        ),
        AlertingRule(
            "PaymendStreamsWebhooksRejected",
            "sum by (job, reason) (rate(paymend_streams_webhooks_rejected_total[10m]))\n"
            "/ on (job) group_left ()\n"
            "(sum by (job) (rate(paymend_streams_webhooks_received_total[10m])) > 0)\n"
            f"> {WEBHOOK_REJECTED_RATIO}",
            "10m",
            "warning",
            "{{ $value | humanizePercentage }} of webhooks are rejected ({{ $labels.reason }})",
            "The webhook endpoint refused more than "
            f"{WEBHOOK_REJECTED_RATIO:.0%} of requests for 10 minutes, reason {{{{ $labels.reason }}}}.\n"
            "Runbook: auth: WEBHOOK_TOKEN / WEBHOOK_HMAC_SECRETS differ from what Paymend sends (a key "
            "rotation half done?) or someone probes the endpoint; invalid: Paymend changed its payload "
            "(see the worker log); too_large: raise WEBHOOK_MAX_BODY_BYTES only if the events are "
            "genuine; unavailable: Kafka did not confirm writes in WEBHOOK_WRITE_TIMEOUT_S, check the "
            "brokers (Paymend redelivers).",
        ),
    )


def _availability_alerts() -> tuple[AlertingRule, ...]:
    return (
        AlertingRule(
            "PaymendStreamsWorkerDown",
            f"up{{{JOB_MATCHER}}} == 0",
            "5m",
            "critical",
            "Worker {{ $labels.instance }} of {{ $labels.job }} cannot be scraped",
            "Prometheus cannot scrape /metrics of this worker for 5 minutes: the process is down, "
            "restarting, or its event loop is blocked.\n"
            "Runbook: kubectl describe/logs of the pod (crash loop, OOM, a configuration error at "
            "start); /live and /ready on port 6066; its partitions move to the other workers.",
        ),
        AlertingRule(
            "PaymendStreamsWorkerAbsent",
            f"absent(up{{{JOB_MATCHER}}} == 1)",
            "10m",
            "critical",
            "No paymend-streams worker is up",
            "No scrape target of paymend-streams answered for 10 minutes: nothing processes declines "
            "and Paymend's webhooks are not accepted.\n"
            "Runbook: is the Deployment scaled to zero or failing to schedule? Is the ServiceMonitor "
            f"(or scrape config) still selecting the Service? Its job label must match {JOB_MATCHER}.",
        ),
    )


def alert_groups() -> tuple[AlertGroup, ...]:
    """Every alert, in groups of one concern."""
    return (
        AlertGroup("paymend-streams-recovery-alerts", "1m", _recovery_alerts()),
        AlertGroup("paymend-streams-processing-alerts", "1m", _processing_alerts()),
        AlertGroup("paymend-streams-paymend-api-alerts", "30s", _paymend_alerts()),
        AlertGroup("paymend-streams-availability-alerts", "30s", _availability_alerts()),
    )


_HEADER: Final = """\
# Prometheus recording rules of paymend-streams.
#
# GENERATED by `python -m streams.metrics_rules --write` from streams/metrics_rules.py:
# edit that module, not this file (a test checks they agree).
#
# Load with `rule_files:` in prometheus.yml (or wrap the `groups` in a PrometheusRule).
# The metrics are declared in streams/metrics.py. Names: level:metric:operations.
#
# - *:paymend_streams_recovery_outcomes_recovered_per_concluded:ratio_rate{1h,1d}
#     recovery rate = recovered / (recovered + failed + expired), overall (job) and by
#     decline_code, store and currency; voided/refunded and in-flight recoveries excluded.
# - *_outcome:paymend_streams_recovery_outcomes:rate{1h,1d}   outcomes per second, by outcome.
# - job_quantile:paymend_streams_time_to_recover_seconds:histogram_quantile_rate{1h,1d}
#     first decline -> AUTHORIZED/CAPTURED, quantile="0.5" | "0.9" | "0.99".
# - job_action_quantile:paymend_streams_void_latency_seconds:histogram_quantile_rate{1h,1d}
#     stop event -> VOIDED/REFUNDED, by action (void, refund), quantile="0.5" | "0.99".
# - job_operation:paymend_streams_paymend_calls_{errors,rejections}_per_calls:ratio_rate{5m,1h}
#     share of Paymend call attempts by operation that failed (5xx, timeout, connect, network,
#     error) or were refused (4xx).
"""


def render_yaml(groups: Sequence[RuleGroup]) -> str:
    """The rules file: a comment header, then `groups:` (expressions as literal block scalars)."""
    lines = [_HEADER.rstrip("\n"), "", "groups:"]
    for group in groups:
        lines += [f"  - name: {group.name}", f"    interval: {group.interval}", "    rules:"]
        for rule in group.rules:
            lines += [f"      - record: {rule.record}", "        expr: |-"]
            lines += [f"          {line}" for line in rule.expr.splitlines()]
            if rule.labels:
                lines.append("        labels:")
                lines += [f'          {key}: "{value}"' for key, value in rule.labels.items()]
    return "\n".join(lines) + "\n"


_ALERTS_HEADER: Final = """\
# Prometheus alerting rules of paymend-streams.
#
# GENERATED by `python -m streams.metrics_rules --write` from streams/metrics_rules.py:
# edit that module, not this file (a test checks they agree, and runs `promtool check rules`
# and the unit tests in deploy/prometheus/tests/).
#
# Load next to recording-rules.yml (the recovery alerts read its records). The worker's scrape job
# must match job=~".*paymend-streams.*". Every alert has a severity label (warning: a ticket,
# critical: a page) and a runbook in its description.
"""


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are YAML)."""
    return json.dumps(text, ensure_ascii=False)


def render_alerts_yaml(groups: Sequence[AlertGroup]) -> str:
    """The alerts file: a comment header, then `groups:` with one alerting rule per entry."""
    lines = [_ALERTS_HEADER.rstrip("\n"), "", "groups:"]
    for group in groups:
        lines += [f"  - name: {group.name}", f"    interval: {group.interval}", "    rules:"]
        for rule in group.rules:
            lines += [f"      - alert: {rule.alert}", "        expr: |-"]
            lines += [f"          {line}" for line in rule.expr.splitlines()]
            lines += [
                f"        for: {rule.for_}",
                "        labels:",
                f"          severity: {rule.severity}",
                "        annotations:",
                f"          summary: {_quoted(rule.summary)}",
                f"          description: {_quoted(rule.description)}",
            ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m streams.metrics_rules", description="Render the recording and alerting rules."
    )
    parser.add_argument(
        "--write", action="store_true", help=f"write {RULES_FILE} and {ALERTS_FILE} instead of printing"
    )
    parser.add_argument("--alerts", action="store_true", help="print the alerting rules, not the recording")
    args = parser.parse_args(argv)
    rules, alerts = render_yaml(rule_groups()), render_alerts_yaml(alert_groups())
    if args.write:
        RULES_FILE.parent.mkdir(parents=True, exist_ok=True)
        RULES_FILE.write_text(rules)
        ALERTS_FILE.write_text(alerts)
        return 0
    sys.stdout.write(alerts if args.alerts else rules)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
