"""The caching monitor records exactly what faust's own PrometheusMonitor records."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP
from prometheus_client import CollectorRegistry

from streams.faust_sensors import CachingPrometheusMonitor


class _Stream:
    """What the stream hooks read: a label and an owner; hashable, as faust's streams are."""

    def __init__(self, label: str) -> None:
        self.shortlabel = f"Stream: {label}"
        self.task_owner = self


def _drive(monitor: PrometheusMonitor) -> None:
    declines, webhooks = TP("declines", 0), TP("webhooks", 3)
    stream = _Stream("Topic: declines|webhooks")
    table = SimpleNamespace(name="payments")
    app = SimpleNamespace(rebalancing_count=1)

    def events(count: int) -> None:
        for offset in range(count):
            for tp in (declines, webhooks):
                monitor.on_message_in(tp, offset, SimpleNamespace())
                state = monitor.on_stream_event_in(tp, offset, stream, SimpleNamespace())
                monitor.on_stream_event_out(tp, offset, stream, SimpleNamespace(), state)
                monitor.on_table_get(table, b"k")
                monitor.on_table_set(table, b"k", b"v")
                monitor.on_send_initiated(None, f"{tp.topic}-status", None, 1, 1)  # type: ignore[arg-type]

    events(5)
    state = monitor.on_rebalance_start(app)  # type: ignore[arg-type]  # faust clears per-topic metrics
    events(3)
    monitor.on_rebalance_end(app, state)  # type: ignore[arg-type]
    events(2)


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in registry.collect()
        for s in metric.samples
        if not s.name.endswith(("_created", "_sum")) and "latency" not in s.name  # timings differ
    }


def test_the_caching_monitor_records_what_faust_records_across_a_rebalance() -> None:
    registries: list[CollectorRegistry] = []
    for monitor_class in (PrometheusMonitor, CachingPrometheusMonitor):
        registry = CollectorRegistry()
        _drive(monitor_class(metrics=FaustMetrics.create(registry, "faust")))
        registries.append(registry)
    stock, caching = (_samples(r) for r in registries)

    assert caching == stock
    per_topic: Any = {k: v for k, v in stock.items() if k[0] == "faust_messages_received_per_topic_total"}
    assert per_topic, "the per-topic family must have samples for the comparison to mean something"
    # faust drops its per-topic children at the end of a rebalance; counting starts again after it,
    # and a stale cached child would have kept the 2 sends out of the registry
    assert caching[("faust_topic_messages_sent_total", (("topic", "topic.declines-status"),))] == 2
