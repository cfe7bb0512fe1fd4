"""Throughput of the Paymend sandbox simulator (a script, not a test).

    .venv/bin/python tests/bench/bench_sandbox.py [--seconds 5] [--concurrency 64] [--runs 3] [--baseline]

Starts `python -m streams sandbox` in a subprocess at 0 ms latency with no faults and no
webhooks, then drives it with raw aiohttp (one session, `--concurrency` workers, each looping
create-then-get on a fresh merchantReference) for `--seconds` per run, resetting the sandbox
between runs. Prints one row per run and the median. The client runs in this process on the same
machine, so the figure is a lower bound of what the server alone can take. `--baseline` also
measures a bare aiohttp app answering the same routes with a constant body (the ceiling of
aiohttp on this machine), to tell the sandbox's own cost from the machine's noise.
The server, the body and the run loop are shared with bench_client.py (`benchkit.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys

from benchkit import RUN_HEADER, SANDBOX, AiohttpTarget, one_run, run_row, server

BASELINE_APP = """
import asyncio
from aiohttp import web
BODY = b'{"paymentId":"pay_baseline","status":"AUTHORIZED"}'
async def answer(request):
    await request.read()
    return web.Response(body=BODY, content_type="application/json")
async def main():
    app = web.Application()
    app.router.add_post("/v1/payments", answer)
    app.router.add_get("/v1/payments/{paymentId}", answer)
    app.router.add_post("/_sandbox/reset", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print("http://127.0.0.1:%d" % runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


async def measure(name: str, argv: list[str], args: argparse.Namespace) -> float:
    """Start the server `python *argv`, drive it `args.runs` times, return the median rate."""
    async with server(name, argv) as url:
        print(f"{name} {url}: {args.concurrency} in flight, {args.seconds:g} s per run, create+get\n")
        print(RUN_HEADER)
        rates = []
        for index in range(1, args.runs + 1):
            target = AiohttpTarget(url, args.concurrency)
            try:
                run = await one_run(
                    url, target, index=index, seconds=args.seconds, concurrency=args.concurrency
                )
            finally:
                await target.aclose()
            print(run_row(index, run))
            rates.append(run.rate)
        median = statistics.median(rates)
        print(f"\n{name} median: {median:.0f} requests/s\n")
        return median


async def main(args: argparse.Namespace) -> int:
    sandbox = await measure("sandbox", SANDBOX, args)
    if args.baseline:
        baseline = await measure("bare aiohttp", ["-c", BASELINE_APP], args)
        print(f"sandbox / bare aiohttp: {sandbox / baseline:.0%}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", action="store_true", help="also measure a bare aiohttp app")
    sys.exit(asyncio.run(main(parser.parse_args())))
