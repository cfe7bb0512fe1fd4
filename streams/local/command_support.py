"""What the local command-line tools share: settings from the environment, and a stop on signals."""

from __future__ import annotations

import logging
import os
import signal
import threading

from streams.settings import ConfigurationError, Settings

__all__ = ["kafka_settings_or_none", "stop_on_signals"]

logger = logging.getLogger(__name__)


def kafka_settings_or_none() -> Settings | None:
    """Settings from the environment with `KAFKA_BOOTSTRAP` set; None (error logged) otherwise."""
    try:
        settings = Settings.from_env(os.environ)
        settings.require_kafka_bootstrap()
    except ConfigurationError as exc:
        logger.error("%s", exc)
        return None
    return settings


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM (call from the main thread)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop
