"""The HTTP connection under `PaymendClient`: send one request, return its status, headers and body.

Two implementations of one small `Wire` protocol, chosen by `PAYMEND_HTTP_CLIENT`:

- `AiohttpWire` (default, `aiohttp`): one `aiohttp.ClientSession` with a bounded connection pool.
  The worker makes one Paymend call per decline, so the client's own cost per request is on the
  hot path: measured against the sandbox, aiohttp spends about a quarter of httpx's CPU per
  request and keeps its throughput under concurrency (README, "HTTP client").
- `HttpxWire` (`httpx`): an `httpx.AsyncClient` on httpx-aiohttp's transport, the API the tests'
  fault transports (`httpx.MockTransport`) plug into.

Both send exactly the bytes and headers `PaymendClient` gives them, follow no redirects, read no
proxy settings from the environment, and raise their library's own exceptions, which
`streams.paymend.translate.error_from_exception` maps to `PaymendError`s. Timeouts: connect
(opening a connection), pool (waiting for a free pooled connection), read (waiting for the answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

__all__ = ["AiohttpWire", "Answer", "HttpxWire", "Timeouts", "Wire"]


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect_s: float
    read_s: float
    pool_s: float


class Headers(Protocol):
    """Case-insensitive header lookup (httpx's Headers and aiohttp's CIMultiDictProxy both are)."""

    def get(self, key: str, /) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back for one request."""

    status_code: int
    headers: Headers
    content: bytes = field(repr=False)


class Wire(Protocol):
    async def request(
        self, method: str, path: str, *, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer: ...

    async def aclose(self) -> None: ...


class AiohttpWire:
    """`Wire` on a raw aiohttp session (created lazily, inside the running event loop)."""

    def __init__(
        self, base_url: str, *, timeouts: Timeouts, max_connections: int, headers: Mapping[str, str]
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.pool_s + timeouts.connect_s,  # aiohttp's `connect` includes the pool wait
            sock_connect=timeouts.connect_s,
            sock_read=timeouts.read_s,
        )
        self._max_connections = max_connections
        self._headers = dict(headers)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0),
            timeout=self._timeout,
            headers=self._headers,
            trust_env=False,
            auto_decompress=True,
        )
        return self._session

    async def request(
        self, method: str, path: str, *, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        session = self._session or self._open()
        async with session.request(
            method, self._base_url + path, data=body, headers=headers, allow_redirects=False
        ) as response:
            content = await response.read()
            return Answer(response.status, response.headers, content)

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class HttpxWire:
    """`Wire` on httpx (on httpx-aiohttp's transport unless a transport is given)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeouts: Timeouts,
        max_connections: int,
        headers: Mapping[str, str],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers),
            timeout=httpx.Timeout(
                connect=timeouts.connect_s, read=timeouts.read_s, write=timeouts.read_s, pool=timeouts.pool_s
            ),
            transport=transport if transport is not None else AiohttpTransport(limits=limits),
            follow_redirects=False,
            trust_env=False,
        )

    async def request(
        self, method: str, path: str, *, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        response = await self._http.request(method, path, content=body, headers=dict(headers))
        return Answer(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        await self._http.aclose()
