"""Recording rules: the YAML file is the rendering of `streams.metrics_rules`, and every metric and
label an expression reads is one `streams.metrics.Metrics` declares.

No YAML library is installed: the file is read back with a reader for exactly the subset the
renderer writes (and checked to be that subset). `promtool check rules` is a later issue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from streams.metrics import Metrics
from streams.metrics_rules import RULES_FILE, RecordingRule, RuleGroup, render_yaml, rule_groups

GROUPS = rule_groups()
RULES = [rule for group in GROUPS for rule in group.rules]
DECLARED = Metrics(CollectorRegistry()).label_names()  # sample name -> label names

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
_KEYWORDS |= {"and", "or", "unless"}


def read_rules_file(text: str) -> tuple[RuleGroup, ...]:
    """Parse the YAML subset `render_yaml` writes; fail on any line outside it."""
    groups: list[RuleGroup] = []
    rules: list[RecordingRule] = []
    name = interval = ""
    lines = iter(text.splitlines())

    def close_group() -> None:
        if name:
            groups.append(RuleGroup(name, interval, tuple(rules)))

    for line in lines:
        if not line or line.startswith("#") or line == "groups:":
            continue
        if m := re.fullmatch(r"  - name: (\S+)", line):
            close_group()
            name, rules = m[1], []
        elif m := re.fullmatch(r"    interval: (\d+[smhd])", line):
            interval = m[1]
        elif line == "    rules:":
            continue
        elif m := re.fullmatch(r"      - record: (\S+)", line):
            rules.append(RecordingRule(m[1], ""))
        elif line == "        expr: |-":
            continue
        elif line.startswith("          ") and not re.fullmatch(r'          \w+: "[^"]*"', line):
            last = rules[-1]
            expr = f"{last.expr}\n{line[10:]}" if last.expr else line[10:]
            rules[-1] = RecordingRule(last.record, expr, last.labels)
        elif line == "        labels:":
            continue
        elif m := re.fullmatch(r'          (\w+): "([^"]*)"', line):
            last = rules[-1]
            rules[-1] = RecordingRule(last.record, last.expr, {**last.labels, m[1]: m[2]})
        else:
            raise AssertionError(f"line outside the rules subset: {line!r}")
    close_group()
    return tuple(groups)


def selectors(expr: str) -> Iterator[tuple[str, set[str]]]:
    """(metric name, label names in its matchers) for every series selector in `expr`."""
    expr = re.sub(r'"[^"]*"', '""', expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range durations
    expr = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    for m in re.finditer(rf"(?<![\w.:])({_NAME})\s*(\{{[^}}]*\}})?(\s*\()?", expr):
        name, matchers, call = m[1], m[2], m[3]
        if call or name in _KEYWORDS:
            continue  # a function or aggregation, or an operator
        yield name, set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers or ""))


def grouping_labels(expr: str) -> set[str]:
    expr = re.sub(r'"[^"]*"', '""', expr)
    return {
        label.strip()
        for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr)
        for label in group.split(",")
        if label.strip()
    }


# --- the file ----------------------------------------------------------------------------------


def test_the_file_is_the_rendering_of_the_rules() -> None:
    assert RULES_FILE.read_text() == render_yaml(GROUPS), (
        f"{RULES_FILE} is stale: run `.venv/bin/python -m streams.metrics_rules --write`"
    )


def test_the_file_reads_back_as_the_same_rules() -> None:
    assert read_rules_file(RULES_FILE.read_text()) == GROUPS


def test_the_file_has_a_comment_header() -> None:
    head = RULES_FILE.read_text().splitlines()[:3]
    assert all(line.startswith("#") for line in head)
    assert "streams.metrics_rules" in "\n".join(head)


# --- the rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.record}{r.labels or ''}")
def test_every_metric_an_expression_reads_is_declared_or_recorded_before(rule: RecordingRule) -> None:
    recorded_before: set[str] = set()
    for group in GROUPS:
        names = [r.record for r in group.rules]
        if rule.record in names:
            recorded_before = set(names[: names.index(rule.record)])  # same group: evaluated in order
    found = list(selectors(rule.expr))
    assert found, f"no metric found in {rule.expr!r}"
    for name, _ in found:
        if ":" in name:
            assert name in recorded_before, f"{name} is not recorded earlier in the same group"
        else:
            assert name in DECLARED, f"{name} is not a series streams.metrics exposes"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.record}{r.labels or ''}")
def test_every_label_an_expression_reads_exists(rule: RecordingRule) -> None:
    recorded = {r.record: grouping_labels(r.expr) for r in RULES}
    available = {"job"}
    for name, matched in selectors(rule.expr):
        labels = set(DECLARED[name]) if name in DECLARED else recorded[name]
        assert matched <= labels | {"job"}, f"{name} has no label {matched - labels}"
        available |= labels
    assert grouping_labels(rule.expr) <= available, rule.expr


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.record}{r.labels or ''}")
def test_record_names_follow_level_metric_operations(rule: RecordingRule) -> None:
    level, metric, operations = rule.record.split(":")
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", level)
    assert metric.startswith("paymend_streams_")
    assert not metric.endswith("_total")
    assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", operations)
    assert re.search(r"rate(5m|1h|1d)$", operations), "the window is the last operation"
    # the level names the labels the output keeps, in order: the first `by`, less `le`, plus quantile
    by = re.search(r"\bby \(([^)]*)\)", rule.expr)
    assert by is not None
    kept = [label.strip() for label in by[1].split(",") if label.strip() != "le"] + list(rule.labels)
    assert level == "_".join(kept)


def test_the_issue_asks_for_these_rules() -> None:
    records = {(r.record, tuple(sorted(r.labels.items()))) for r in RULES}
    names = {record for record, _ in records}
    for level in ("job", "job_decline_code", "job_store", "job_currency"):
        for window in ("1h", "1d"):
            assert (
                f"{level}:paymend_streams_recovery_outcomes_recovered_per_concluded:ratio_rate{window}"
                in names
            )
    for q in ("0.5", "0.9", "0.99"):
        record = "job_quantile:paymend_streams_time_to_recover_seconds:histogram_quantile_rate1d"
        assert (record, (("quantile", q),)) in records
    for q in ("0.5", "0.99"):
        record = "job_action_quantile:paymend_streams_void_latency_seconds:histogram_quantile_rate1h"
        assert (record, (("quantile", q),)) in records
    assert "job_operation:paymend_streams_paymend_calls_errors_per_calls:ratio_rate5m" in names


def test_recovery_rate_divides_recovered_by_recovered_failed_expired() -> None:
    rule = next(r for r in RULES if r.record.startswith("job:") and "recovered_per_concluded" in r.record)
    numerator, denominator = rule.expr.split("\n/\n")

    assert '{outcome="recovered"}' in numerator
    assert '{outcome=~"recovered|failed|expired"}' in denominator
    assert denominator.endswith("> 0)"), "no NaN series where nothing concluded"


def test_record_and_label_pairs_are_unique() -> None:
    keys = [(r.record, tuple(sorted(r.labels.items()))) for r in RULES]
    assert len(keys) == len(set(keys))


def test_the_name_parser_finds_metrics_and_skips_functions_keywords_and_labels() -> None:
    expr = 'histogram_quantile(0.9, sum by (job, le) (rate(a_bucket{x="by(y)", z=~"1|2"}[5m]))) or b:c:d * 0'

    assert list(selectors(expr)) == [("a_bucket", {"x", "z"}), ("b:c:d", set())]
    assert grouping_labels(expr) == {"job", "le"}
