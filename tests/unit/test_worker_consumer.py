"""The worker consumer's corrections of faust's: which partitions are read again from the start."""

from __future__ import annotations

from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry

from streams.app import create_app
from streams.broker.worker_consumer import changelog_topics, uncommitted_stream_partitions
from streams.settings import Secret, Settings


def test_partitions_without_a_committed_offset_are_read_from_the_start_changelogs_excepted() -> None:
    committed = {
        TopicPartition("declines", 0): None,  # never committed: the one the fix is for
        TopicPartition("declines", 1): 0,  # committed 0: aiokafka does not seek it either
        TopicPartition("declines", 2): 7,  # aiokafka seeks this one itself
        TopicPartition("app-payments-changelog", 0): None,  # recovery positions changelogs
    }

    chosen = uncommitted_stream_partitions(committed, frozenset({"app-payments-changelog"}))

    assert chosen == [TopicPartition("declines", 0), TopicPartition("declines", 1)]


def test_every_worker_gets_the_corrected_consumer_and_knows_its_changelogs() -> None:
    for embedded in (True, False):
        settings = Settings(
            kafka_bootstrap="127.0.0.1:9", kafka_embedded=embedded, paymend_api_token=Secret("t")
        )
        app = create_app(settings, registry=CollectorRegistry()).app

        thread_class = app.transport.Consumer._new_consumer_thread  # type: ignore[attr-defined]
        assert thread_class.__qualname__.startswith("use_worker_consumer"), embedded
        assert changelog_topics(app) == {
            f"{settings.app_id}-payments-changelog",
            f"{settings.app_id}-orders-changelog",
        }
