"""Where card numbers ended up: worker logs, topics, RocksDB tables.

`find_pans(blob, pans)` finds each card number in bytes, plain or grouped by spaces or dashes.
`scan(system, pans, topics=...)` reads every record of the given topics (keys and values apart;
`output_topics` lists the worker's outputs and its tables' changelogs), every worker log, and
every RocksDB table of the worker's data directory (opened read-only with rocksdict, and its
files as bytes, for the WAL); it returns a `Scan`: the places where any was found, with an example.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import rocksdict
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from streams.broker.client_config import confluent_config
from tests.harness.system import System

__all__ = ["Scan", "find_pans", "output_topics", "read_all", "scan"]

_SEPARATORS = re.compile(rb"[ -]")


def find_pans(blob: bytes, pans: Iterable[str]) -> set[str]:
    compact = _SEPARATORS.sub(b"", blob)
    return {pan for pan in pans if pan.encode() in blob or pan.encode() in compact}


def _context(blob: bytes, pans: set[str], width: int = 160) -> str:
    """The text around the first of `pans` in `blob` (separators removed when that is how it was found)."""
    for text in (blob, _SEPARATORS.sub(b"", blob)):
        for pan in sorted(pans):
            if (at := text.find(pan.encode())) >= 0:
                return text[max(0, at - width) : at + len(pan) + width].decode("utf-8", "replace")
    return ""


def output_topics(system: System) -> list[str]:
    """Every topic the worker writes, the raw webhook topic excepted, and its tables' changelogs."""
    s = system.settings
    admin = AdminClient(confluent_config(s))
    changelogs = [t for t in admin.list_topics(timeout=10).topics if t.startswith(f"{s.app_id}-")]
    outputs = [s.topic_status, s.topic_dead_letters, s.topic_conflicts, s.topic_effects, s.topic_order_index]
    return [*outputs, *sorted(changelogs)]


def read_all(
    system: System, topics: list[str], *, idle_s: float = 3.0, timeout: float = 120.0
) -> list[bytes]:
    """Key and value bytes of every record of `topics`, read until nothing came for `idle_s`.

    The consumer is assigned every partition from the beginning (no group to join), so a quiet
    spell means the end (Tansu under-reports end offsets, so they are not compared).
    """
    out: list[tuple[str, bytes, bytes]] = []
    metadata = AdminClient(confluent_config(system.settings)).list_topics(timeout=10).topics
    consumer = Consumer(
        {**confluent_config(system.settings), "group.id": "chaos-scan", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in metadata[t].partitions])
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline and time.monotonic() - quiet_since < idle_s:
            batch = consumer.consume(1000, 0.2)
            for msg in batch:
                if not msg.error():
                    out.append((msg.topic(), msg.key() or b"", msg.value() or b""))
            if batch:
                quiet_since = time.monotonic()
    finally:
        consumer.close()
    return out


def _tables(data_dir: Path) -> Iterable[tuple[Path, bytes]]:
    """(db path, key + value) for every row of every RocksDB database under `data_dir`."""
    for current in sorted(data_dir.rglob("CURRENT")):
        db = rocksdict.Rdict(
            str(current.parent),
            options=rocksdict.Options(raw_mode=True),
            access_type=rocksdict.AccessType.read_only(),
        )
        try:
            for key, value in db.items():
                yield current.parent, bytes(key) + b"\n" + bytes(value)
        finally:
            db.close()


@dataclass
class Scan:
    found: dict[str, set[str]] = field(default_factory=dict)  # place -> PANs found there
    records: int = 0  # topic records read
    rows: int = 0  # table rows read
    files: int = 0  # log and data files read
    examples: dict[str, str] = field(default_factory=dict)  # place -> text around the first find


def scan(
    system: System, pans: Iterable[str], *, topics: list[str], only: Mapping[str, Iterable[str]] | None = None
) -> Scan:
    """Every place holding one of `pans` (see the module doc); `only` maps more topics to the card
    numbers to look for there (e.g. an input topic that also gets output). Stop the workers first."""
    pans = tuple(pans)
    only = {topic: tuple(some) for topic, some in (only or {}).items()}
    result = Scan()

    def look(place: str, blob: bytes, among: tuple[str, ...] = pans) -> None:
        if hits := find_pans(blob, among):
            result.found.setdefault(place, set()).update(hits)
            result.examples.setdefault(place, _context(blob, hits))

    for topic, key, value in read_all(system, [*topics, *only]):
        result.records += 1
        among = only.get(topic, pans)
        look(f"topic {topic} (keys)", key, among)
        look(f"topic {topic} (values)", value, among)
    for worker in system.workers:
        result.files += 1
        look(f"log {worker.log.name}", worker.log.read_bytes())
    data_dir = Path(system.settings.worker_data_dir)
    for db, row in _tables(data_dir):
        result.rows += 1
        look(f"table {db.name}", row)
    for path in data_dir.rglob("*"):
        if path.is_file():
            result.files += 1
            look(f"file {path.relative_to(data_dir)}", path.read_bytes())
    return result
