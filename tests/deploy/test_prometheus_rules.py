"""The Prometheus files under deploy/: promtool accepts them and their unit tests pass.

- `deploy/prometheus/alerts.yml` is the rendering of `streams.metrics_rules.alert_groups()`.
- `promtool check rules` on the recording rules and the alerts; `promtool test rules` on
  `deploy/prometheus/tests/rules-test.yml` (the recovery-rate rule, alerts firing and not).
- Every expression of the Grafana dashboard parses (checked by promtool as recording rules).

promtool missing fails these tests with the install hint (`make tools`); nothing is skipped.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from streams.metrics_rules import ALERTS_FILE, RULES_FILE, AlertingRule, alert_groups, render_alerts_yaml
from tests.deploy.tools import REPO, tool

RULES_TEST = REPO / "deploy" / "prometheus" / "tests" / "rules-test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "paymend-streams.json"
ALERTS = [rule for group in alert_groups() for rule in group.rules]


def promtool(*args: str | Path) -> str:
    result = subprocess.run(
        [tool("promtool"), *map(str, args)], capture_output=True, text=True, check=False, cwd=REPO
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def dashboard_exprs() -> list[str]:
    """Every PromQL expression of the dashboard's panels (rows included)."""
    board = json.loads(DASHBOARD.read_text())
    panels = [p for top in board["panels"] for p in (top, *top.get("panels", []))]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def as_promql(expr: str) -> str:
    """A dashboard expression with Grafana's variables replaced by values Prometheus accepts."""
    return expr.replace("$__rate_interval", "5m").replace("$job", ".*")


# --- alerts.yml --------------------------------------------------------------------------------


def test_the_alerts_file_is_the_rendering_of_the_alerts() -> None:
    assert ALERTS_FILE.read_text() == render_alerts_yaml(alert_groups()), (
        f"{ALERTS_FILE} is stale: run `.venv/bin/python -m streams.metrics_rules --write`"
    )


def test_the_issue_asks_for_these_alerts() -> None:
    assert {rule.alert for rule in ALERTS} >= {
        "PaymendStreamsRecoveryRateDrop",
        "PaymendStreamsPaymentsStuck",
        "PaymendStreamsDeadLettersRising",
        "PaymendStreamsPaymendErrorRatioHigh",
        "PaymendStreamsWebhooksRejected",
        "PaymendStreamsConsumerLag",
        "PaymendStreamsWorkerDown",
        "PaymendStreamsWorkerAbsent",
    }
    assert len({rule.alert for rule in ALERTS}) == len(ALERTS)


@pytest.mark.parametrize("rule", ALERTS, ids=lambda r: r.alert)
def test_every_alert_has_a_duration_a_severity_and_a_runbook(rule: AlertingRule) -> None:
    assert re.fullmatch(r"\d+[smh]", rule.for_)
    assert rule.severity in {"warning", "critical"}
    assert rule.summary
    assert "\n" not in rule.summary
    assert "\nRunbook: " in rule.description


# --- promtool ----------------------------------------------------------------------------------


def test_promtool_checks_the_recording_rules_and_the_alerts() -> None:
    out = promtool("check", "rules", RULES_FILE, ALERTS_FILE)
    assert out.count("SUCCESS") == 2, out


def test_promtool_unit_tests_pass() -> None:
    promtool("test", "rules", RULES_TEST)


def test_the_unit_tests_cover_the_recovery_rate_and_alerts_firing_and_not() -> None:
    text = RULES_TEST.read_text()
    assert "expr: job:paymend_streams_recovery_outcomes_recovered_per_concluded:ratio_rate1h" in text
    fired = set(re.findall(r"alertname: (\w+)\n\s+eval_time: \w+\n\s+exp_alerts:\n", text))
    silent = set(re.findall(r"alertname: (\w+)\n\s+eval_time: \w+\n\s+exp_alerts: \[\]", text))
    assert len(fired) >= 2, fired
    assert len(silent) >= 2, silent


def test_every_dashboard_expression_parses(tmp_path: Path) -> None:
    exprs = dashboard_exprs()
    assert len(exprs) >= 20
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for n, expr in enumerate(exprs):
        lines += [f"      - record: dashboard_expr_{n}", f"        expr: {json.dumps(as_promql(expr))}"]
    rules = tmp_path / "dashboard-exprs.yml"
    rules.write_text("\n".join(lines) + "\n")
    promtool("check", "rules", rules)
