"""`python -m streams worker`: the stream-processing worker (faust), with its web server.

Reads `Settings` from the environment (KAFKA_BOOTSTRAP and PAYMEND_API_TOKEN are required),
creates the service's topics if missing (`ensure_topics`: faust never creates them), builds the
app with `streams.app.create_app` and runs it under `faust.Worker` (mode), which owns the event
loop until the worker stops.

Stopping. SIGTERM and SIGINT (mode installs the handlers on the loop) stop the worker
gracefully: faust stops its services in reverse start order (agents and consumer first, with a
final commit of the acknowledged offsets; then the web server; the producer flushes last), the
Paymend client closes after all of them, then the process exits 0. A crash exits non-zero. A
clean stop takes 1-3 s (mode waits ~1 s for stray tasks); Kubernetes' default grace of 30 s is
plenty.

`--print-config` prints every setting with its environment variable (secrets masked) and exits
without connecting anywhere.

Exit codes: 0 stopped cleanly, 1 failed (topics, crash), 2 configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os

import faust

from streams.broker.client_config import confluent_config
from streams.broker.errors import TopicError
from streams.broker.topics import ensure_topics, service_topics
from streams.settings import ConfigurationError, Secret, Settings, setting_fields

__all__ = ["ServiceWorker", "add_arguments", "format_config", "freeze_startup_heap", "main", "run_worker"]

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--print-config", action="store_true", help="print the settings (secrets masked) and exit"
    )
    parser.add_argument(
        "--topics-timeout",
        type=float,
        default=30.0,
        help="seconds to wait for the broker while creating topics (default 30)",
    )


def main(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(os.environ)
    except ConfigurationError as exc:
        logger.error("%s", exc)
        return 2
    if args.print_config:
        print(format_config(settings))
        return 0
    try:
        settings.require_kafka_bootstrap()
        settings.require_paymend_token()
        admin_config = confluent_config(settings)
    except ConfigurationError as exc:
        logger.error("%s", exc)
        return 2
    try:
        ensure_topics(admin_config, service_topics(settings), timeout=args.topics_timeout)
    except TopicError as exc:
        logger.error("%s", exc)
        return 1
    return run_worker(settings)


def run_worker(settings: Settings) -> int:
    """Run the app under `faust.Worker` until a signal or a crash; returns the exit code."""
    from streams.app import create_app  # faust app wiring: imported only when a worker runs

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    runtime = create_app(settings)
    worker = make_worker(runtime.app, settings, loop)
    # httpx logs every request line at INFO: one line per Paymend call floods production logs.
    # The client logs its attempts at DEBUG, and /metrics counts every call.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    logger.info(
        "worker %s: web server on %s:%d (webhooks at %s, /metrics, /live, /ready)",
        settings.app_id,
        settings.worker_web_host,
        settings.worker_web_port,
        settings.webhook_path,
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:  # mode always exits through SystemExit: 0 clean, 1 crashed
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)


def make_worker(app: faust.App, settings: Settings, loop: asyncio.AbstractEventLoop) -> faust.Worker:
    """The faust Worker for `app`, logging at LOG_LEVEL.

    faust's terminal spinner sets the root logger to DEBUG so that it spins on every record: every
    debug call in faust and aiokafka (several per message) then builds a LogRecord that no handler
    prints. Without the spinner the root logger keeps LOG_LEVEL (about 6 % of the worker's CPU).
    """
    worker = ServiceWorker(app, loglevel=settings.log_level.upper(), loop=loop)
    worker.spinner = None
    return worker


class ServiceWorker(faust.Worker):
    """faust's Worker, which freezes the heap it started with (`freeze_startup_heap`)."""

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        logger.info(
            "froze %d objects of the started worker (out of the garbage collector's way)",
            freeze_startup_heap(),
        )


def freeze_startup_heap() -> int:
    """Collect, then `gc.freeze()` every object alive; returns how many are frozen.

    A full (generation 2) collection walks every object the collector tracks. A started worker
    holds a few hundred thousand that live as long as it does (modules, faust's services,
    aiokafka, aiohttp), and each full collection walked them all with the event loop stopped:
    37-52 ms at 300 declines/s, the largest single stall in decline-to-status latency. Frozen,
    they are never walked again; a full collection then took 2-3 ms. Objects created later are
    collected as before.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def format_config(settings: Settings) -> str:
    """`ENV=value` per setting, in declaration order; secrets masked, unset ones empty."""
    lines = []
    for name, env, _, _ in setting_fields():
        value = getattr(settings, name)
        if value is None:
            shown = ""
        elif isinstance(value, Secret):
            shown = str(value)  # masked
        else:
            shown = str(value)
        lines.append(f"{env}={shown}")
    lines.append(f"# Paymend base URL in force: {settings.paymend_url}")
    lines.append(f"# webhook HMAC keys configured: {len(settings.webhook_hmac_keys)}")
    return "\n".join(lines)
