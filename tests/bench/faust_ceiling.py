"""A trivial faust agent in its own process: the framework's ceiling in events/s (a script).

    python -m tests.bench.faust_ceiling BOOTSTRAP TOPIC PARTITIONS EVENTS RESULT_FILE DATA_DIR

The app is built with the worker's own options (`streams.app.faust_app_options`, which includes
`faust_broker_options` with the embedded-broker settings: 2 s session timeout, one-record
producer batches, commit every 1 s, `stream_wait_empty` off) and the consumer's fetch wait
`create_app` sets on the embedded broker, except for a memory store and no web server. One agent
(`concurrency=1`) consumes TOPIC, which the caller filled beforehand, and only counts (each event
is acknowledged by faust when the next is asked for). When EVENTS have been seen it writes
`{"events": n, "seconds": t}` to RESULT_FILE, `t` being the time from the first event to the last
(so the consumer group forming is not counted). The caller stops the process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import faust
import orjson

from streams.app import faust_app_options
from streams.settings import Settings


def _write(path: Path, data: dict[str, float]) -> None:
    path.write_bytes(orjson.dumps(data))


def same_consumer(app: faust.App, settings: Settings) -> None:
    """The consumer `streams.app.create_app` gives the worker (`install_worker_consumer`)."""
    try:
        from streams.broker.worker_consumer import install_worker_consumer
    except ImportError:  # a version of the service without it
        return
    install_worker_consumer(app, settings)


def build(bootstrap: str, topic: str, partitions: int, events: int, result: Path, data_dir: str) -> faust.App:
    settings = dataclasses.replace(
        Settings(kafka_bootstrap=bootstrap, kafka_embedded=True),
        app_id=f"bench-ceiling-{topic}",
        topic_partitions=partitions,
        topic_replication_factor=1,
        worker_data_dir=data_dir,
    )
    options = {**faust_app_options(settings), "store": "memory://", "web_enabled": False}
    app = faust.App(settings.app_id, **options)
    same_consumer(app, settings)
    source = app.topic(topic, key_type=bytes, value_type=bytes, partitions=partitions, internal=False)
    seen = {"n": 0, "first": 0.0}

    async def count(stream: Any) -> None:
        async for _event in stream.events():
            seen["n"] += 1
            if seen["n"] == 1:
                seen["first"] = time.perf_counter()
            elif seen["n"] == events:
                seconds = time.perf_counter() - seen["first"]
                _write(result, {"events": events - 1, "seconds": seconds})

    app.agent(source, name="bench-count", concurrency=1)(count)
    return app


def main(argv: list[str]) -> None:
    bootstrap, topic, partitions, events, result, data_dir = argv
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    app = build(bootstrap, topic, int(partitions), int(events), Path(result), data_dir)
    worker = faust.Worker(app, loglevel="WARNING", loop=loop)
    worker.spinner = None  # as `streams.worker` does: the spinner turns on DEBUG logging everywhere
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1:])
