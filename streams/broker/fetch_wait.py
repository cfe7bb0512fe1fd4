"""How long the worker's consumer lets the broker hold an idle fetch: `KAFKA_FETCH_MAX_WAIT_MS`.

faust builds its aiokafka consumer with `fetch_max_wait_ms=1500`, hard-coded. Apache Kafka answers
a fetch as soon as one byte is there, so that only bounds the polling of idle partitions. The
embedded Tansu broker does not: it holds a fetch for about half of that wait even when records
arrive meanwhile, so every event waited ~0.75 s in the worker at low load (measured: a trivial
faust agent's produce-to-agent lag p50 was 441 ms; with 100 ms it is 7 ms). The setting's default
keeps faust's 1500 ms on a real Kafka; the embedded broker uses 20 ms (`EMBEDDED_FETCH_MAX_WAIT_MS`).

`use_fetch_max_wait(app, ms)` gives `app`'s transport a consumer class whose aiokafka consumer is
built with `ms` instead. It must run before the app creates its consumer (in `create_app`).
"""

from __future__ import annotations

from typing import Any, Final

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

__all__ = ["EMBEDDED_FETCH_MAX_WAIT_MS", "fetch_max_wait_ms", "use_fetch_max_wait"]

#: The wait on the embedded broker: low enough that Tansu's held fetches add no visible latency.
EMBEDDED_FETCH_MAX_WAIT_MS: Final = 20


def use_fetch_max_wait(app: faust.App, wait_ms: int) -> None:
    """Make `app`'s worker consumer ask the broker to hold an idle fetch `wait_ms` at most."""

    class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
            consumer = super()._create_worker_consumer(transport)
            # read by AIOKafkaConsumer.start(), where it builds its Fetcher
            consumer._fetch_max_wait_ms = wait_ms
            return consumer

    class Consumer(faust_aiokafka.Consumer):
        def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
            return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    transport = app.transport
    if not isinstance(transport, faust_aiokafka.Transport):
        raise TypeError(f"expected faust's aiokafka transport, got {type(transport).__name__}")
    transport.Consumer = Consumer  # type: ignore[misc]  # faust declares it a ClassVar


def fetch_max_wait_ms(app: faust.App) -> int | None:
    """The wait the app's running worker consumer was built with (None before it exists)."""
    thread = getattr(app.consumer, "_thread", None)
    consumer = getattr(thread, "_consumer", None)
    return None if consumer is None else int(consumer._fetch_max_wait_ms)
