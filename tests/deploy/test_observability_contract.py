"""Every metric the recording rules, the alerts and the Grafana dashboard query is one the service
exports (STYLE 14).

Two sources of the exported names, same check:
- the registry `streams.app.create_app` builds (our `Metrics` and faust's sensor families), with
  no broker: fast, in `make unit`;
- a real scrape of `/metrics` of a running `python -m streams worker` (integration).

Names with a `:` must be records of `deploy/prometheus/recording-rules.yml`; `up` is
Prometheus' own. Families are expanded to their sample names by type (a counter `x` is scraped
as `x_total`; a histogram as `x_bucket`, `x_sum`, `x_count`): a family with no samples yet (a
labelled counter nothing incremented) still counts as exported.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from streams.app import create_app
from streams.metrics_rules import alert_groups, rule_groups
from streams.settings import Settings
from tests.deploy.test_prometheus_rules import dashboard_exprs
from tests.fixtures.broker import TopicFactory
from tests.fixtures.worker import WorkerFactory, worker_settings
from tests.unit.test_recording_rules import selectors

#: Series Prometheus makes itself for every scrape target.
PROMETHEUS_SERIES = frozenset({"up"})
_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "gauge": ("",),
}

RECORDS = {rule.record for group in rule_groups() for rule in group.rules}
EXPRESSIONS = {
    **{f"record {rule.record}": rule.expr for group in rule_groups() for rule in group.rules},
    **{f"alert {rule.alert}": rule.expr for group in alert_groups() for rule in group.rules},
    **{f"dashboard expr {n}": expr for n, expr in enumerate(dashboard_exprs())},
}


def sample_names(families: Iterable[Metric]) -> frozenset[str]:
    names: set[str] = set()
    for family in families:
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return frozenset(names)


def queried() -> dict[str, set[str]]:
    """metric name -> where it is queried, for every raw (not recorded) series."""
    out: dict[str, set[str]] = {}
    for where, expr in EXPRESSIONS.items():
        for name, _ in selectors(expr):
            if ":" in name:
                assert name in RECORDS, f"{where}: {name} is not a recording rule"
            elif name not in PROMETHEUS_SERIES:
                out.setdefault(name, set()).add(where)
    return out


def assert_all_exported(exported: frozenset[str]) -> None:
    missing = {name: sorted(where) for name, where in queried().items() if name not in exported}
    assert not missing, f"queried but not exported: {missing}"


def test_the_queries_reach_ours_and_faust_metrics() -> None:
    names = set(queried())
    assert {n for n in names if n.startswith("paymend_streams_")}, names
    assert {"faust_topic_partition_end_offset", "faust_topic_partition_offset_commited"} <= names


def test_everything_queried_is_in_the_apps_registry() -> None:
    registry = CollectorRegistry(auto_describe=True)
    create_app(Settings(kafka_bootstrap="127.0.0.1:9"), registry=registry)

    assert_all_exported(sample_names(registry.collect()))


@pytest.mark.integration
def test_everything_queried_is_in_a_real_scrape(
    worker_factory: WorkerFactory, kafka_settings: Settings, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    worker = worker_factory(worker_settings(kafka_settings, topic_factory, tmp_path))
    response = httpx.get(worker.url + "/metrics", timeout=5.0)

    assert response.status_code == 200
    assert_all_exported(sample_names(text_string_to_metric_families(response.text)))
