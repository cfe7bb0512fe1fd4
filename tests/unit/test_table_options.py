"""Every table of the worker opens RocksDB with the memory bounds of the settings, not faust's."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from streams.app import create_app
from streams.settings import Secret, Settings


def test_every_rocksdb_table_gets_the_configured_memtables_and_block_cache(tmp_path: Path) -> None:
    settings = Settings(
        kafka_bootstrap="127.0.0.1:9",
        paymend_api_token=Secret("t"),
        worker_store="rocksdb://",
        worker_data_dir=str(tmp_path),
        rocksdb_write_buffer_mb=8,
        rocksdb_block_cache_mb=48,
    )
    app = create_app(settings, registry=CollectorRegistry()).app

    assert set(app.tables) == {"payments", "orders"}
    for table in app.tables.values():
        options = table.data.rocksdb_options  # type: ignore[attr-defined]  # the store, not opened
        assert options.write_buffer_size == 8 * 1024 * 1024, table.name
        assert options.max_write_buffer_number == 2
        assert options.block_cache_size == 48 * 1024 * 1024
