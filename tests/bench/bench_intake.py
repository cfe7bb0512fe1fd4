"""The webhook endpoint alone: CPU per request of `WebhookIntake`, without faust or Kafka (a script).

    .venv/bin/python -m tests.bench.bench_intake [--requests 20000] [--concurrency 32] [--runs 3]

Serves `streams.web.webhook.WebhookIntake` (token and HMAC checks on, validation, metrics) on a
bare aiohttp server in its own process, with a `TopicWriter` on a fake topic whose delivery is
acknowledged one loop iteration later, and drives it with the webhook benchmark's client (signed
PAYMENT_AUTHORIZED bodies, closed loop). Prints requests/s and, steadier on a shared machine,
the server's CPU time per request: the endpoint's own cost, which the worker pays on top of
Kafka's and the agent's. Used to judge changes to `streams/web` and `schemas` in isolation.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from streams.metrics import Metrics
from streams.settings import Secret, Settings
from streams.web.webhook import TopicWriter, WebhookIntake
from tests.bench.benchkit import percentiles, server
from tests.bench.webhooks import HMAC_KEY, TOKEN, _body, _load, _signed

PATH = "/webhooks/paymend"


class _AckingTopic:
    """A faust-like topic: `send` returns a delivery future resolved on the next loop iteration."""

    async def send(self, *, key: bytes, value: bytes) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        delivery: asyncio.Future[Any] = loop.create_future()
        loop.call_soon(delivery.set_result, None)
        return delivery


async def _serve() -> None:
    settings = Settings(webhook_token=Secret(TOKEN), webhook_hmac_secrets=Secret(HMAC_KEY))
    intake = WebhookIntake(settings, TopicWriter(_AckingTopic(), 1.0), Metrics(CollectorRegistry()))  # type: ignore[arg-type]

    async def cpu(request: web.Request) -> web.Response:
        return web.Response(text=repr(time.process_time()))

    app = web.Application()
    app.router.add_post(PATH, intake.handle)
    app.router.add_get("/cpu", cpu)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


async def _cpu(session: aiohttp.ClientSession, url: str) -> float:
    async with session.get(f"{url}/cpu") as response:
        return float(await response.text())


async def _measure(args: argparse.Namespace) -> None:
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    async with (
        server("intake", ["-m", "tests.bench.bench_intake", "--serve"]) as url,
        aiohttp.ClientSession() as s,
    ):
        target = f"{url}{PATH}?token={TOKEN}"
        await _load(target, _signed([_body(f"w-{uuid.uuid4().hex}", stamp) for _ in range(500)]), 8)
        print(f"{'run':>4} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'server CPU us/req':>18}")
        cpus, rates = [], []
        for run in range(1, args.runs + 1):
            requests = _signed([_body(f"w-{uuid.uuid4().hex}", stamp) for _ in range(args.requests)])
            before = await _cpu(s, url)
            seconds, latencies, errors = await _load(target, requests, args.concurrency)
            cpu_us = (await _cpu(s, url) - before) / args.requests * 1e6
            p50, p99 = percentiles(latencies)
            rate = args.requests / seconds
            print(f"{run:>4} {rate:>8.0f} {p50:>7.2f} {p99:>7.2f} {errors:>6} {cpu_us:>18.0f}")
            cpus.append(cpu_us)
            rates.append(rate)
        print(
            f"median: {statistics.median(rates):.0f} requests/s, {statistics.median(cpus):.0f} us CPU/request"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(_serve() if args.serve else _measure(args))


if __name__ == "__main__":
    main()
