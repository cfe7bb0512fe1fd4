"""Request rate of `PaymendClient` against the sandbox, next to raw aiohttp and httpx (a script, not a test).

    .venv/bin/python tests/bench/bench_client.py [--seconds 5] [--runs 3] [--concurrency 1 64]

Starts `python -m streams sandbox --port 0` in a subprocess (0 ms latency, no faults, no webhooks;
the token in `SANDBOX_TOKEN`), reading its URL from the first stdout line. For each concurrency,
each client is driven like bench_sandbox.py does it (`benchkit.one_run`: `concurrency` workers
looping create-then-get on fresh merchantReferences, the sandbox reset before every run) for
`--seconds` per run, `--runs` times. Runs are interleaved (run 1 of every client, then run 2, ...)
so that a slow spell of the machine does not fall on one client only. The clients:

- `aiohttp ClientSession`: raw aiohttp, bytes in and out (the floor of the HTTP stack underneath).
- `httpx (default transport)`: `httpx.AsyncClient` on its own httpcore transport, bytes in and out.
- `httpx + AiohttpTransport`: the same, on httpx-aiohttp's transport (PaymendClient's stack, minus
  PaymendClient): the gap to the next row is the client's own work (models, parsing, ids, auth).
- `PaymendClient`: the real client from `from_settings` (its default wire, raw aiohttp:
  `PAYMEND_HTTP_CLIENT=aiohttp`), typed `PaymentRequest` in, parsed `PaymentResponse` out, one
  attempt per call.

Every pool holds `concurrency` keep-alive connections. Prints the runs, then a table: median req/s
with min and max over the runs, p50/p99 latency of one request over all runs, the median client CPU
per request (this process's CPU time / requests), errors. The sandbox, this process and anything
else running share the machine's cores, so the rates are relative (compare rows of one invocation,
not invocations); the CPU per request moves much less with outside load. At 64 in flight the
client process is CPU-bound, so there the rate is about 1e6 / (CPU µs per request).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from dataclasses import dataclass, field

import httpx
import orjson
from benchkit import (
    CARD,
    RUN_HEADER,
    SANDBOX,
    STORE,
    TOKEN,
    AiohttpTarget,
    Run,
    body,
    one_run,
    percentiles,
    run_row,
    server,
)
from httpx_aiohttp import AiohttpTransport

from streams.paymend import (
    Card,
    GoodsType,
    InitiatedBy,
    PaymendClient,
    PaymendError,
    PaymentMethod,
    PaymentRequest,
    Source,
)
from streams.settings import Secret, Settings


def payment_request(reference: str) -> PaymentRequest:
    """The typed twin of `benchkit.body(reference)` (checked equal at start)."""
    return PaymentRequest(
        amount=4999,
        currency="EUR",
        merchant_reference=reference,
        goods_type=GoodsType.DIGITAL,
        source=Source(STORE, InitiatedBy.MERCHANT),
        payment_method=PaymentMethod(
            Card(
                number=CARD["number"],
                holder_name=CARD["holderName"],
                expiry_month=CARD["expiryMonth"],
                expiry_year=CARD["expiryYear"],
            )
        ),
    )


class HttpxTarget:
    """httpx.AsyncClient with its default transport (httpcore), bytes in and out."""

    label = "httpx (default transport)"

    def __init__(self, url: str, concurrency: int) -> None:
        self._client = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            timeout=10.0,
        )

    async def create(self, reference: str) -> str | None:
        response = await self._client.post("/v1/payments", content=body(reference))
        payment = orjson.loads(response.content)
        return payment.get("paymentId") if response.status_code == 200 else None

    async def get(self, payment_id: str) -> bool:
        response = await self._client.get(f"/v1/payments/{payment_id}")
        return response.status_code == 200

    async def aclose(self) -> None:
        await self._client.aclose()


class HttpxAiohttpTarget(HttpxTarget):
    """httpx.AsyncClient on httpx-aiohttp's AiohttpTransport (PaymendClient's stack), bytes in and out."""

    label = "httpx + AiohttpTransport"

    def __init__(self, url: str, concurrency: int) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            transport=AiohttpTransport(limits=limits),
            timeout=10.0,
        )


class PaymendTarget:
    """The real PaymendClient, built as the worker builds it; no retries, so errors are counted."""

    label = "PaymendClient (aiohttp wire)"

    def __init__(self, url: str, concurrency: int) -> None:
        settings = Settings(
            paymend_base_url=url,
            paymend_api_token=Secret(TOKEN),
            paymend_max_connections=concurrency,
            paymend_retry_attempts=1,
        )
        self._client = PaymendClient.from_settings(settings)

    async def create(self, reference: str) -> str | None:
        try:
            return (await self._client.create_payment(payment_request(reference))).payment_id
        except PaymendError:
            return None

    async def get(self, payment_id: str) -> bool:
        try:
            await self._client.get_payment(payment_id)
        except PaymendError:
            return False
        return True

    async def aclose(self) -> None:
        await self._client.aclose()


TargetClass = type[AiohttpTarget] | type[HttpxTarget] | type[PaymendTarget]
CLIENTS: tuple[TargetClass, ...] = (AiohttpTarget, HttpxTarget, HttpxAiohttpTarget, PaymendTarget)


@dataclass
class Series:
    """The runs of one client at one concurrency."""

    label: str
    concurrency: int
    runs: list[Run] = field(default_factory=list)

    def rates(self) -> list[float]:
        return [run.rate for run in self.runs]

    def median(self) -> float:
        return statistics.median(self.rates())

    def row(self) -> str:
        rates = self.rates()
        p50, p99 = percentiles([latency for run in self.runs for latency in run.latencies])
        errors = sum(run.errors for run in self.runs)
        cpu = statistics.median(run.cpu_us_per_request for run in self.runs)
        return (
            f"{self.label:<30} {self.concurrency:>9} {self.median():>12.0f} {min(rates):>8.0f}"
            f" {max(rates):>8.0f} {p50:>7.2f} {p99:>7.2f} {cpu:>10.0f} {errors:>7}"
        )


TABLE_HEADER = (
    f"{'client':<30} {'in flight':>9} {'median req/s':>12} {'min':>8} {'max':>8}"
    f" {'p50 ms':>7} {'p99 ms':>7} {'cpu µs/req':>10} {'errors':>7}"
)


async def measure(url: str, make: TargetClass, *, index: int, concurrency: int, seconds: float) -> Run:
    target = make(url, concurrency)
    try:
        return await one_run(url, target, index=index, seconds=seconds, concurrency=concurrency)
    finally:
        await target.aclose()


async def main(args: argparse.Namespace) -> int:
    if orjson.loads(body("ref")) != payment_request("ref").to_json():
        raise SystemExit("the typed request and the raw body differ: the comparison would be unfair")
    table: list[Series] = []
    async with server("sandbox", SANDBOX) as url:
        print(f"sandbox {url}: create+get, {args.seconds:g} s per run, {args.runs} runs, interleaved\n")
        print(f"{'client':<30} {'in flight':>11} {RUN_HEADER} {'cpu µs/req':>10}")
        for concurrency in args.concurrency:
            series = [Series(cls.label, concurrency) for cls in CLIENTS]
            for index in range(1, args.runs + 1):
                for cls, one in zip(CLIENTS, series, strict=True):
                    run = await measure(url, cls, index=index, concurrency=concurrency, seconds=args.seconds)
                    one.runs.append(run)
                    print(
                        f"{cls.label:<30} {concurrency:>3} in flight {run_row(index, run)}"
                        f" {run.cpu_us_per_request:>10.0f}"
                    )
            table += series
            print()
    print(TABLE_HEADER)
    for series_row in table:
        print(series_row.row())
    print()
    for concurrency in args.concurrency:
        by_label = {s.label: s.median() for s in table if s.concurrency == concurrency}
        paymend, raw = by_label[PaymendTarget.label], by_label[AiohttpTarget.label]
        plain, stack = by_label[HttpxTarget.label], by_label[HttpxAiohttpTarget.label]
        print(
            f"{concurrency:>3} in flight: PaymendClient = {paymend / raw:.0%} of raw aiohttp,"
            f" {paymend / stack:.0%} of httpx + AiohttpTransport, {paymend / plain:.0%} of httpx's default"
        )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 64])
    sys.exit(asyncio.run(main(parser.parse_args())))
