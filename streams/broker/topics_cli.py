"""`python -m streams topics`: create the service's topics with their partition counts.

Reads the settings from the environment (`KAFKA_BOOTSTRAP`, `KAFKA_*` security, `TOPIC_*`),
creates what is missing, checks what exists, and prints one line per topic. Exit codes: 0 done,
1 a topic problem (partition mismatch, refused, timeout), 2 a configuration error.
"""

from __future__ import annotations

import argparse
import logging
import os

from streams.broker.client_config import confluent_config
from streams.broker.errors import TopicError
from streams.broker.topics import EnsuredTopic, ensure_topics, service_topics
from streams.settings import ConfigurationError, Settings

__all__ = ["add_arguments", "format_table", "main"]

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for the broker (default 30)"
    )


def main(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(os.environ)
        config = confluent_config(settings)
    except ConfigurationError as exc:
        logger.error("%s", exc)
        return 2
    try:
        results = ensure_topics(config, service_topics(settings), timeout=args.timeout)
    except TopicError as exc:
        logger.error("%s", exc)
        return 1
    print(format_table(results))
    return 0


def format_table(results: list[EnsuredTopic]) -> str:
    """One aligned line per topic: name, partitions, replication, created or existed."""
    rows = [("TOPIC", "PARTITIONS", "REPLICATION", "STATUS")]
    rows += [
        (r.spec.name, str(r.spec.partitions), str(r.spec.replication), "created" if r.created else "exists")
        for r in results
    ]
    width = max(len(row[0]) for row in rows)
    return "\n".join(f"{n:<{width}}  {p:>10}  {rf:>11}  {s}" for n, p, rf, s in rows)
