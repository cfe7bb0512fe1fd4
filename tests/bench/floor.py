"""The least a faust worker must do per decline, as a script: the pipeline's floor in events/s.

    python -m tests.bench.floor BOOTSTRAP TOPIC PARTITIONS EVENTS RESULT_FILE DATA_DIR [SANDBOX_URL TOKEN]

Like `tests.bench.faust_ceiling` (the worker's own faust options, one agent, `concurrency=1`,
events counted from the first to the last), but each event does what any design that meets the
brief must do for a decline, and nothing else: write the payment's row to a RocksDB table (the
state the cancels join with, changelogged) and publish one status record. With SANDBOX_URL, it
also makes one Paymend create call per event with raw aiohttp, concurrently across events (at most
256 in flight), and writes the row and the status when the answer is there, as the pipeline does.
No decoding, no validation, no decision, no metrics of ours, no order index: the figure is the
ceiling of the framework plus the unavoidable writes, which the pipeline can only approach.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import faust
import orjson

from streams.app import faust_app_options
from streams.settings import Settings
from tests.bench.benchkit import body
from tests.bench.faust_ceiling import same_consumer

_IN_FLIGHT = 256


def build(argv: list[str]) -> faust.App:
    bootstrap, topic, partitions, events, result, data_dir, *paymend = argv
    total = int(events)
    settings = dataclasses.replace(
        Settings(kafka_bootstrap=bootstrap, kafka_embedded=True),
        app_id=f"bench-floor-{topic}",
        topic_partitions=int(partitions),
        topic_replication_factor=1,
        worker_data_dir=data_dir,
        worker_store="rocksdb://",
    )
    app = faust.App(settings.app_id, **{**faust_app_options(settings), "web_enabled": False})
    same_consumer(app, settings)
    source = app.topic(topic, key_type=bytes, value_type=bytes, partitions=int(partitions), internal=False)
    status = app.topic(f"{topic}-status", key_type=bytes, value_type=bytes, partitions=int(partitions))
    table = app.Table("rows", key_type=bytes, value_type=bytes, partitions=int(partitions))
    seen = {"n": 0, "first": 0.0}

    def done() -> None:
        seen["n"] += 1
        if seen["n"] == 1:
            seen["first"] = time.perf_counter()
        elif seen["n"] == total:
            seconds = time.perf_counter() - seen["first"]
            Path(result).write_bytes(orjson.dumps({"events": total - 1, "seconds": seconds}))

    async def floor(stream: Any) -> None:
        session = aiohttp.ClientSession() if paymend else None
        slots = asyncio.Semaphore(_IN_FLIGHT)
        headers = (
            {"Authorization": f"Bearer {paymend[1]}", "Content-Type": "application/json"} if paymend else {}
        )

        async def call(key: bytes, event: Any) -> None:
            # `event` is held so that faust's current event (a weak reference the task inherited)
            # stays alive for the table write, as the pipeline's settle function does
            assert session is not None
            try:
                async with session.post(
                    f"{paymend[0]}/v1/payments", data=body(key.decode()), headers=headers
                ) as r:
                    answer = await r.read()
                table[key] = answer[:200]  # the outcome, written in the event's context like the pipeline
                status.send_soon(key=key, value=b'{"newStatus":"PENDING"}')
                done()
            finally:
                slots.release()

        async for event in stream.events():
            key = event.message.key
            table[key] = b'{"intent":"create"}'
            if session is None:
                status.send_soon(key=key, value=b'{"newStatus":"PENDING"}')
                done()
                continue
            await slots.acquire()
            asyncio.create_task(call(key, event))  # noqa: RUF006 - bounded by the semaphore, ends with the run

    app.agent(source, name="bench-floor", concurrency=1)(floor)
    return app


def main(argv: list[str]) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    app = build(argv)
    worker = faust.Worker(app, loglevel="WARNING", loop=loop)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1:])
