"""The options every table of the worker is created with: RocksDB's memory bounds.

faust opens one RocksDB database per table partition with 64 MiB memtables (up to three) and a
2 GiB block cache each. A worker that recovers a large table fills those memtables in every
partition at once: measured (`python -m tests.bench --only table`), 1 000 000 payments over 8
partitions took the first start to 595 MB peak RSS with faust's defaults, 275 MB with these
(16 MiB memtables, two each; 32 MiB cache), recovery time unchanged (121 s, 124 s).
`ROCKSDB_WRITE_BUFFER_MB` and `ROCKSDB_BLOCK_CACHE_MB` set them; the memory store ignores them.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.types import TableT

from streams.settings import Settings

__all__ = ["bytes_table", "table_options"]

_MIB = 1024 * 1024


def table_options(settings: Settings) -> dict[str, Any]:
    """A new dict for one table (faust's RocksDB store pops keys out of the one it is given)."""
    return {
        "write_buffer_size": settings.rocksdb_write_buffer_mb * _MIB,
        "max_write_buffer_number": 2,
        "block_cache_size": settings.rocksdb_block_cache_mb * _MIB,
    }


def bytes_table(app: faust.App, name: str, settings: Settings) -> TableT[bytes, bytes]:
    """A table of raw bytes keys and values, co-partitioned with the inputs, with `table_options`."""
    return app.Table(
        name,
        key_type=bytes,
        value_type=bytes,
        partitions=settings.topic_partitions,
        options=table_options(settings),
    )
