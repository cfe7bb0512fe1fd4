"""The service's topic list and the `topics` command's table (no broker needed)."""

from __future__ import annotations

import pytest

from streams.broker.topics import EnsuredTopic, TopicSpec, service_topics
from streams.broker.topics_cli import format_table
from streams.settings import Settings


def test_every_service_topic_has_the_configured_partitions() -> None:
    settings = Settings(topic_partitions=12, topic_replication_factor=3)

    specs = service_topics(settings)

    assert [s.name for s in specs] == [
        settings.topic_declines,
        settings.topic_order_cancelled,
        settings.topic_settled_elsewhere,
        settings.topic_webhooks,
        settings.topic_status,
        settings.topic_dead_letters,
        settings.topic_conflicts,
        settings.topic_effects,
        settings.topic_order_index,
    ]
    assert {(s.partitions, s.replication) for s in specs} == {(12, 3)}


def test_every_topic_setting_is_a_service_topic() -> None:
    settings = Settings()
    topic_settings = {
        getattr(settings, name) for name in Settings.__dataclass_fields__ if name.startswith("topic_")
    } - {settings.topic_partitions, settings.topic_replication_factor}

    assert {s.name for s in service_topics(settings)} == topic_settings


def test_embedded_broker_forces_replication_one() -> None:
    specs = service_topics(Settings(kafka_embedded=True, topic_replication_factor=3))

    assert {s.replication for s in specs} == {1}


@pytest.mark.parametrize(("name", "partitions", "replication"), [("", 1, 1), ("t", 0, 1), ("t", 1, 0)])
def test_topic_spec_rejects_nonsense(name: str, partitions: int, replication: int) -> None:
    with pytest.raises(ValueError, match=r"topic|at least 1"):
        TopicSpec(name, partitions, replication)


def test_table_lists_each_topic_and_whether_it_was_created() -> None:
    table = format_table(
        [
            EnsuredTopic(TopicSpec("payments.declines.v1", 8, 3), True),
            EnsuredTopic(TopicSpec("t", 8, 3), False),
        ]
    )

    lines = table.splitlines()
    assert lines[0].split() == ["TOPIC", "PARTITIONS", "REPLICATION", "STATUS"]
    assert lines[1].split() == ["payments.declines.v1", "8", "3", "created"]
    assert lines[2].split() == ["t", "8", "3", "exists"]
