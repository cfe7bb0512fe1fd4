"""The worker's Kafka consumer: faust's aiokafka consumer with three corrections.

`use_worker_consumer(app, fetch_max_wait_ms=..., fetched_end_offsets=...)` gives `app`'s transport
a consumer class built on faust's own (`faust.transport.drivers.aiokafka`). It must run before the
app creates its consumer (in `create_app`).

1. **Uncommitted partitions are read again from the start after every assignment.** After a
   rebalance faust seeks each stream partition to its committed offset, so that events fetched
   but not processed are fetched again. aiokafka's `seek_to_committed` leaves a partition with no
   committed offset (None, or 0) where the fetcher already is, and faust drops what it fetched
   while its flow was suspended for the rebalance (`Consumer._drain_messages` advances its read
   offset past a message whose delivery the suspension cut short). A worker that joins a group
   while the partitions it takes over hold unacknowledged events and no commit yet (every call
   still in flight, say) then never sees those events: measured, in 3 of 32 runs of
   `test_calls_in_flight_across_a_rebalance_settle_through_the_new_owner` (0 of 14 after) the
   new worker's declines counter stayed at 0 while the group had no offset for its partitions. Such a
   partition is now sought to its beginning (what `auto_offset_reset=earliest` means) at that
   point; redelivery is safe (the pipeline recognises an event it applied by its offset). Table
   changelogs are left alone: faust's recovery positions them itself.
2. **`KAFKA_FETCH_MAX_WAIT_MS`.** faust builds its aiokafka consumer with `fetch_max_wait_ms=1500`,
   hard-coded. Apache Kafka answers a fetch as soon as one byte is there, so that only bounds the
   polling of idle partitions. The embedded Tansu broker does not: it holds a fetch for about half
   of that wait even when records arrive meanwhile, so every event waited ~0.75 s in the worker
   at low load (measured: a trivial faust agent's produce-to-agent lag p50 was 441 ms; with
   100 ms it is 7 ms). The setting's default keeps faust's 1500 ms on a real Kafka; the embedded
   broker uses 20 ms (`EMBEDDED_FETCH_MAX_WAIT_MS`).
3. **End offsets from a fetch, on the embedded broker.** Tansu answers ListOffsets(latest) with
   the base offset of the partition's last record batch plus one, so after a batch of several
   records the end offset it reports is short of the real one (measured: 10 records then 7, in
   two batches: ListOffsets says 11, a fetch's high watermark says 17). faust's table recovery
   reads a changelog up to that end offset, so it would lose the changelog's tail (memory store)
   or raise ConsistencyError (rocksdb). Tansu's Fetch answers carry the right high watermark, so
   with `fetched_end_offsets=True` each end offset faust asks for is corrected with one Fetch
   (1 ms wait, one byte) per broker at the offset ListOffsets gave: `true_end_offsets`. That lets
   the producer batch records on the embedded broker too (it used to be held to one record per
   batch, which cost a third of the pipeline's throughput and, with 15 000 declines queued at
   once, stalled the worker behind its own commit).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, Final

import aiokafka
import faust
from aiokafka.protocol.fetch import FetchRequest
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.settings import Settings

__all__ = [
    "EMBEDDED_FETCH_MAX_WAIT_MS",
    "changelog_topics",
    "fetch_max_wait_ms",
    "install_worker_consumer",
    "true_end_offsets",
    "uncommitted_stream_partitions",
    "use_worker_consumer",
]

logger = logging.getLogger(__name__)

#: The wait on the embedded broker: low enough that Tansu's held fetches add no visible latency.
EMBEDDED_FETCH_MAX_WAIT_MS: Final = 20


def install_worker_consumer(app: faust.App, settings: Settings) -> None:
    """The worker consumer for `settings`: `KAFKA_FETCH_MAX_WAIT_MS` (else 20 ms on the embedded
    broker, faust's own wait on a real Kafka), end offsets from a fetch on the embedded broker."""
    wait = settings.kafka_fetch_max_wait_ms or (
        EMBEDDED_FETCH_MAX_WAIT_MS if settings.kafka_embedded else None
    )
    use_worker_consumer(app, fetch_max_wait_ms=wait, fetched_end_offsets=settings.kafka_embedded)


def use_worker_consumer(app: faust.App, *, fetch_max_wait_ms: int | None, fetched_end_offsets: bool) -> None:
    """Give `app` the worker consumer; `fetch_max_wait_ms` None keeps faust's fetch wait;
    `fetched_end_offsets` corrects end offsets with a fetch (the embedded broker, see above)."""

    class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
            consumer = super()._create_worker_consumer(transport)
            if fetch_max_wait_ms is not None:
                # read by AIOKafkaConsumer.start(), where it builds its Fetcher
                consumer._fetch_max_wait_ms = fetch_max_wait_ms
            return consumer

        async def seek_to_committed(self) -> Mapping[Any, int]:
            committed = await super().seek_to_committed()
            uncommitted = uncommitted_stream_partitions(committed, changelog_topics(app))
            if uncommitted and app.conf.consumer_auto_offset_reset == "earliest":
                logger.debug("no committed offset, reading from the start: %s", uncommitted)
                await self.seek_to_beginning(*uncommitted)
            return committed

        async def _highwaters(self, partitions: Any) -> Mapping[Any, int]:
            reported = await super()._highwaters(partitions)
            if not fetched_end_offsets or self.consumer.in_transaction:
                return reported
            return await true_end_offsets(self._ensure_consumer(), reported)

    class Consumer(faust_aiokafka.Consumer):
        def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
            return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    transport = app.transport
    if not isinstance(transport, faust_aiokafka.Transport):
        raise TypeError(f"expected faust's aiokafka transport, got {type(transport).__name__}")
    transport.Consumer = Consumer  # type: ignore[misc]  # faust declares it a ClassVar


def changelog_topics(app: faust.App) -> frozenset[str]:
    """The changelog topic of every table of `app`."""
    return frozenset(table.changelog_topic.get_topic_name() for table in app.tables.values())


def uncommitted_stream_partitions(
    committed: Mapping[Any, int | None], changelogs: frozenset[str]
) -> list[Any]:
    """The partitions of `committed` (partition -> committed offset) that aiokafka did not seek:
    no committed offset, or 0 (aiokafka seeks only to offsets above 0), changelogs excepted."""
    return [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]


async def true_end_offsets(
    consumer: aiokafka.AIOKafkaConsumer, reported: Mapping[Any, int]
) -> dict[Any, int]:
    """`reported` (partition -> end offset from ListOffsets) with each end offset replaced by the
    high watermark of a Fetch at that offset, where the fetch answers and the watermark is higher.

    A fetch at an offset at or below the real end is always valid, and ListOffsets never reports
    more than the real end, so the fetch cannot be out of range; a partition whose leader is
    unknown, or whose fetch fails, keeps its reported offset (faust's own behaviour).
    """
    client = consumer._client
    corrected = dict(reported)
    keys = {(tp.topic, tp.partition): tp for tp in reported}
    by_node: dict[int, dict[str, list[tuple[int, int, int]]]] = defaultdict(lambda: defaultdict(list))
    for tp, end in reported.items():
        leader = client.cluster.leader_for_partition(tp)
        if leader is not None and leader >= 0:
            by_node[leader][tp.topic].append((tp.partition, end, 1))
    for node, topics in by_node.items():
        # max wait 1 ms (Tansu answers a 0 ms fetch with no partitions at all), min bytes 1,
        # max bytes 1 (a broker still returns one batch), read uncommitted
        request = FetchRequest(1, 1, 1, 0, list(topics.items()))
        try:
            response = await client.send(node, request)
        except aiokafka.errors.KafkaError as exc:
            logger.warning("end offsets from a fetch failed on node %s (%s); keeping ListOffsets", node, exc)
            continue
        for topic, partitions in response.topics:
            for partition, error_code, highwater, *_ in partitions:
                tp = keys.get((topic, partition))
                if tp is not None and error_code == 0 and highwater > corrected[tp]:
                    corrected[tp] = highwater
    return corrected


def fetch_max_wait_ms(app: faust.App) -> int | None:
    """The wait the app's running worker consumer was built with (None before it exists)."""
    thread = getattr(app.consumer, "_thread", None)
    consumer = getattr(thread, "_consumer", None)
    return None if consumer is None else int(consumer._fetch_max_wait_ms)
