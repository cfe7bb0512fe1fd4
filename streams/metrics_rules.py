"""The Prometheus recording rules of the service, and their YAML file.

Source of truth for `deploy/prometheus/recording-rules.yml`; a test checks the file is the
rendering of `rule_groups()` and that every metric the expressions read is one `streams.metrics`
declares. Regenerate the file after a change:

    .venv/bin/python -m streams.metrics_rules --write

Names follow Prometheus' `level:metric:operations` convention: `level` is the labels kept
(`job`, `job_decline_code`, ...), `metric` the metric name without `_total`, `operations` what was
applied, newest first (`ratio_rate1h`); a ratio names its two sides with `_per_`. Quantiles are one
record name per level with a `quantile` label, as the kube-prometheus mixins do.

Recovery rate = recovered / (recovered + failed + expired): the outcomes counted in the window;
voided and refunded recoveries (stopped by the merchant) and those still in flight are excluded.
A series appears only where some recovery concluded in the window (no division by zero).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = ["RULES_FILE", "RecordingRule", "RuleGroup", "main", "render_yaml", "rule_groups"]

#: The rendered file, in the repository (this package is installed editable there).
RULES_FILE: Final = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "recording-rules.yml"

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m streams.metrics_rules", description="Render the recording rules."
    )
    parser.add_argument("--write", action="store_true", help=f"write {RULES_FILE} instead of printing")
    args = parser.parse_args(argv)
    text = render_yaml(rule_groups())
    if args.write:
        RULES_FILE.parent.mkdir(parents=True, exist_ok=True)
        RULES_FILE.write_text(text)
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
