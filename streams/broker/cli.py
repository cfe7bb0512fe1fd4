"""`python -m streams broker`: run the embedded Tansu broker in the foreground.

Prints the bootstrap address (`127.0.0.1:PORT`) on stdout once the broker answers, then runs
until SIGINT or SIGTERM, and stops the broker (by its pid) before returning. Exits 1 if the
broker cannot start or dies on its own. Memory-only: stopping it loses every topic.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from streams.broker.embedded import EmbeddedBroker
from streams.broker.errors import EmbeddedBrokerError

__all__ = ["add_arguments", "main"]

logger = logging.getLogger(__name__)

_WATCH_INTERVAL_S = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=None, help="loopback port (default: a free one)")
    parser.add_argument(
        "--log-file", default=None, help="file for the broker's output (default: a temporary file)"
    )
    parser.add_argument(
        "--start-timeout", type=float, default=15.0, help="seconds to wait for readiness (default 15)"
    )


def main(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(EmbeddedBroker(args.port, log_file=args.log_file, start_timeout=args.start_timeout), stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(broker: EmbeddedBroker, stop: threading.Event) -> int:
    try:
        broker.start()
    except EmbeddedBrokerError as exc:
        logger.error("%s", exc)
        return 1
    try:
        print(broker.bootstrap, flush=True)
        logger.info(
            "use KAFKA_BOOTSTRAP=%s KAFKA_EMBEDDED=true (pid %d, log %s); Ctrl-C stops",
            broker.bootstrap,
            broker.pid,
            broker.log_path,
        )
        while not stop.wait(_WATCH_INTERVAL_S):
            if not broker.running:
                logger.error("the broker exited on its own; log tail:\n%s", broker.log_tail())
                return 1
        return 0
    finally:
        broker.stop()
