"""The service's topics and their creation: `TopicSpec`, `service_topics`, `ensure_topics`.

Every topic is created explicitly with its partition count: brokers (Tansu included) auto-create
unknown topics with some default count, and the input, webhook and table topics must all have
the same count for faust's joins through tables (co-partitioning). `ensure_topics` is idempotent
and refuses to go on when an existing topic has another count; it never repairs one (Kafka cannot
shrink a topic, and growing it moves keys to other partitions).

Metadata is only ever requested for *all* topics: asking about one unknown topic by name makes
Tansu (and Kafka with auto-create on) create it with the default partition count. Nothing uses
`validate_only`, which Tansu ignores (it really creates).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from streams.broker.errors import PartitionMismatchError, TopicCreationError
from streams.settings import Settings

__all__ = ["EnsuredTopic", "TopicSpec", "ensure_topics", "service_topics"]

logger = logging.getLogger(__name__)

_POLL_INTERVAL_S = 0.05


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic as the service wants it: name, partition count, replication factor, topic config."""

    name: str
    partitions: int
    replication: int = 1
    config: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a topic needs a name")
        if self.partitions < 1 or self.replication < 1:
            raise ValueError(f"{self.name}: partitions and replication must be at least 1")


@dataclass(frozen=True, slots=True)
class EnsuredTopic:
    """The outcome for one topic: `created` is False when it already existed (with the right count)."""

    spec: TopicSpec
    created: bool


def service_topics(settings: Settings) -> list[TopicSpec]:
    """Every topic the service reads or writes, all with `TOPIC_PARTITIONS` partitions.

    Replication is `TOPIC_REPLICATION_FACTOR`, or 1 on the embedded broker (a single node).
    faust creates its own changelog topics; it is given the same partition count by the app.
    """
    replication = 1 if settings.kafka_embedded else settings.topic_replication_factor
    names = [
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
    return [TopicSpec(name, settings.topic_partitions, replication) for name in names]


def ensure_topics(
    admin_config: Mapping[str, Any], specs: Sequence[TopicSpec], timeout: float = 30.0
) -> list[EnsuredTopic]:
    """Create the missing topics and wait until the metadata shows every one with its count.

    Already existing topics with the right count are fine (idempotent). Raises
    `PartitionMismatchError` if any existing topic has another count (before creating anything
    when the mismatch is already visible), `TopicCreationError` if the broker refuses a topic or
    the topics do not appear within `timeout` seconds.
    """
    if len({s.name for s in specs}) != len(specs):
        raise ValueError("topic names must be unique")
    deadline = time.monotonic() + timeout
    admin = AdminClient(dict(admin_config))
    existing = _partition_counts(admin, deadline)
    _check_counts(specs, existing)
    missing = [s for s in specs if s.name not in existing]
    raced = _create(admin, missing, deadline)
    created = {s.name for s in missing} - raced
    _wait_visible(admin, specs, must_match={s.name for s in specs} - created, deadline=deadline)
    for name in sorted(created):
        logger.info("created topic %s", name)
    return [EnsuredTopic(s, s.name in created) for s in specs]


def _create(admin: AdminClient, specs: Sequence[TopicSpec], deadline: float) -> set[str]:
    """Create `specs`; returns the names that turned out to exist already (created concurrently)."""
    if not specs:
        return set()
    remaining = _remaining(deadline)
    new = [NewTopic(s.name, s.partitions, s.replication, config=dict(s.config)) for s in specs]
    futures = admin.create_topics(new, operation_timeout=remaining, request_timeout=remaining)
    already: set[str] = set()
    failures: list[str] = []
    for name, future in futures.items():
        try:
            future.result(timeout=_remaining(deadline))
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                already.add(name)
            else:
                failures.append(f"{name}: {error}")
        except TimeoutError:
            failures.append(f"{name}: no answer in time")
    if failures:
        raise TopicCreationError("could not create topics: " + "; ".join(failures))
    return already


def _wait_visible(
    admin: AdminClient, specs: Sequence[TopicSpec], *, must_match: set[str], deadline: float
) -> None:
    """Poll all-topics metadata until every spec shows with its count.

    A topic we did not create (in `must_match`) with another count fails at once; a topic we just
    created may lag in metadata, so it is waited for until the deadline.
    """
    while True:
        counts = _partition_counts(admin, deadline)
        _check_counts([s for s in specs if s.name in must_match], counts)
        pending = [s for s in specs if counts.get(s.name) != s.partitions]
        if not pending:
            return
        if time.monotonic() >= deadline:
            shown = ", ".join(f"{s.name} (wanted {s.partitions}, has {counts.get(s.name)})" for s in pending)
            raise TopicCreationError(f"topics not visible with their partition count in time: {shown}")
        time.sleep(_POLL_INTERVAL_S)  # polling interval, bounded by the deadline


def _check_counts(specs: Sequence[TopicSpec], counts: Mapping[str, int]) -> None:
    mismatches = [
        (s.name, s.partitions, counts[s.name])
        for s in specs
        if s.name in counts and counts[s.name] != s.partitions
    ]
    if mismatches:
        raise PartitionMismatchError(mismatches)


def _partition_counts(admin: AdminClient, deadline: float) -> dict[str, int]:
    """Topic -> partition count, from all-topics metadata (topics reported with an error left out)."""
    try:
        metadata = admin.list_topics(timeout=_remaining(deadline))
    except KafkaException as exc:
        raise TopicCreationError(f"the broker did not answer a metadata request in time: {exc}") from exc
    return {name: len(t.partitions) for name, t in metadata.topics.items() if t.error is None}


def _remaining(deadline: float) -> float:
    return max(0.1, deadline - time.monotonic())
