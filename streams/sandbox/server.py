"""`SandboxServer`: the simulator served over HTTP on the current event loop.

    async with SandboxServer(SandboxConfig(token="t")) as server:
        server.url                      # http://127.0.0.1:<free port>
        server.store.create_requests("ORDER-1")
        await server.store.wait_for_status(payment_id, "AUTHORIZED")

On exit it stops accepting, lets in-flight requests finish (up to `shutdown_timeout` seconds,
stalled fault requests are released at once), cancels the PENDING timers and the webhook
deliveries and closes their HTTP session: no task or connection outlives it.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from aiohttp import web

from streams.sandbox.app import build_app
from streams.sandbox.config import SandboxConfig
from streams.sandbox.core import Sandbox
from streams.sandbox.store import PaymentStore

__all__ = ["SandboxServer"]

log = logging.getLogger(__name__)


class SandboxServer:
    """One running simulator. `start`/`stop`, or use it as an async context manager."""

    def __init__(self, config: SandboxConfig | None = None, *, shutdown_timeout: float = 2.0) -> None:
        self.config = config if config is not None else SandboxConfig()
        self.sandbox = Sandbox(self.config)
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:8080` (no trailing slash)."""
        if self._url is None:
            raise RuntimeError("the sandbox server is not started")
        return self._url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def store(self) -> PaymentStore:
        return self.sandbox.store

    def stats(self) -> dict[str, Any]:
        return self.sandbox.stats()

    async def reset(self) -> None:
        await self.sandbox.reset()

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the sandbox server is already started")
        await self.sandbox.start()
        runner = web.AppRunner(
            build_app(self.sandbox),
            access_log=logging.getLogger("streams.sandbox.access") if self.config.access_log else None,
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.config.host, self.config.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            await self.sandbox.close()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        log.info("paymend sandbox serving on %s", self._url)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.sandbox.closing.set()  # release stalled requests before waiting for them
        await runner.cleanup()
        await self.sandbox.close()
        log.info("paymend sandbox on %s stopped", self._url)
        self._url = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
