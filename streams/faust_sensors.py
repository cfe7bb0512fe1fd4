"""faust's own Prometheus metrics (`faust_*`), recorded at less cost per event.

`setup_faust_sensors(app, registry=..., name_prefix=...)` does what faust's
`setup_prometheus_sensors` does (the same metric families on `registry`, served at `/metrics`),
then replaces the app's monitor with `CachingPrometheusMonitor`. faust's monitor looks up a
labelled child (`metric.labels(...)`: a tuple, a lock, a dict) in every hook that runs per
message, per stream event, per table read or write and per produced record, and normalises the
stream's label with a regex per event; measured, dropping faust's sensors altogether raised the
pipeline from about 500 to 565 declines/s. This monitor keeps every family and value but
resolves each labelled child once and reuses it. The cache is emptied whenever faust clears its
per-topic metrics (at the start and end of a rebalance), so a child faust removed is never
written again.
"""

from __future__ import annotations

import weakref
from typing import Any

import faust
from faust.sensors.monitor import Monitor
from faust.sensors.prometheus import PrometheusMonitor, setup_prometheus_sensors
from prometheus_client import CollectorRegistry

__all__ = ["CachingPrometheusMonitor", "setup_faust_sensors"]


class CachingPrometheusMonitor(PrometheusMonitor):
    """faust's `PrometheusMonitor` with its per-event labelled children resolved once each."""

    def __init__(self, metrics: Any, **kwargs: Any) -> None:
        super().__init__(metrics, **kwargs)
        self._labelled: dict[tuple[Any, ...], Any] = {}
        self._stream_children: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    def _child(self, metric: Any, *labels: Any) -> Any:
        key = (id(metric), *labels)
        child = self._labelled.get(key)
        if child is None:
            child = self._labelled[key] = metric.labels(*labels)
        return child

    # The hooks below do what PrometheusMonitor's do (and call Monitor's, as it does).

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        Monitor.on_message_in(self, tp, offset, message)
        m = self._metrics
        m.messages_received.inc()
        m.active_messages.inc()
        self._child(m.messages_received_per_topics, tp.topic).inc()
        self._child(m.messages_received_per_topics_partition, tp.topic, tp.partition).set(offset)

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> dict[str, Any] | None:
        state = Monitor.on_stream_event_in(self, tp, offset, stream, event)
        m = self._metrics
        m.total_events.inc()
        m.total_active_events.inc()
        child = self._stream_children.get(stream)
        if child is None:
            label = f"stream.{self._stream_label(stream)}.events"
            child = self._stream_children[stream] = m.total_events_per_stream.labels(stream=label)
        child.inc()
        return state

    def on_table_get(self, table: Any, key: Any) -> None:
        Monitor.on_table_get(self, table, key)
        self._child(self._metrics.table_operations, f"table.{table.name}", self.KEYS_RETRIEVED).inc()

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        Monitor.on_table_set(self, table, key, value)
        self._child(self._metrics.table_operations, f"table.{table.name}", self.KEYS_UPDATED).inc()

    def on_send_initiated(self, producer: Any, topic: str, message: Any, keysize: int, valsize: int) -> Any:
        self._child(self._metrics.topic_messages_sent, f"topic.{topic}").inc()
        return Monitor.on_send_initiated(self, producer, topic, message, keysize, valsize)

    def on_rebalance_start(self, app: Any) -> dict[str, Any]:
        state = super().on_rebalance_start(app)
        self._forget()
        return state

    def on_rebalance_end(self, app: Any, state: dict[str, Any]) -> None:
        super().on_rebalance_end(app, state)
        self._forget()

    def _forget(self) -> None:
        self._labelled.clear()
        self._stream_children.clear()


def setup_faust_sensors(app: faust.App, *, registry: CollectorRegistry, name_prefix: str) -> None:
    """faust's Prometheus sensors on `registry` (served at `/metrics`), with the caching monitor."""
    setup_prometheus_sensors(app, registry=registry, name_prefix=name_prefix)
    stock = app.monitor
    if not isinstance(stock, PrometheusMonitor):
        raise TypeError(f"expected faust's PrometheusMonitor, got {type(stock).__name__}")
    app.monitor = CachingPrometheusMonitor(metrics=stock._metrics)
