"""`make bench`: every benchmark, each as the median of several runs, printed as one table.

    .venv/bin/python -m tests.bench [--runs 3] [--quick] [--only SECTION,...] [--run-dir DIR]

Sections (`--only limits,pipeline,webhooks,table`), all against their own embedded broker and
sandbox processes on this machine:

- limits (`limits.py`): confluent-kafka passthrough msgs/s, a trivial faust agent's events/s (the
  framework's ceiling), the faust floor (`floor.py`: the writes and the create call any design
  must make per decline, nothing else) and raw aiohttp requests/s against the sandbox at 0 ms
  (the HTTP ceiling);
- pipeline (`bench_pipeline.py`): declines/s end to end with the sandbox at 0 ms and 50 ms, and
  decline-to-status latency p50/p99 at 300 declines/s offered;
- webhooks (`webhooks.py`): webhooks/s acknowledged by one worker, ack latency p50/p99;
- table (`big_table.py`): one worker with 1 000 000 payments in RocksDB: peak RSS, restart to
  ready.

The first three run in rounds (each round measures every figure once), so a ratio such as
pipeline / faust ceiling is taken within a round, and the table shows the median, min and max
over rounds. The table section seeds its payments once and restarts the worker `--runs` times.
`--quick` shrinks every size (and the table to 200 000 payments) for a smoke run. Progress goes to
stderr; the table to stdout and, as Markdown, to `<run dir>/bench.md`. Logs of every process stay
in the run directory. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from streams.broker.embedded import EmbeddedBroker
from tests.bench.report import Figure, Target, format_table

T = TypeVar("T")
SECTIONS = ("limits", "pipeline", "webhooks", "table")


@dataclass(frozen=True)
class Sizes:
    passthrough: int = 200_000
    faust_events: int = 50_000
    floor_events: int = 20_000
    http_seconds: float = 5.0
    declines: int = 10_000
    latency_rate: float = 300.0
    latency_seconds: float = 20.0
    webhooks: int = 20_000
    payments: int = 1_000_000


QUICK = Sizes(
    passthrough=50_000,
    faust_events=20_000,
    floor_events=5_000,
    http_seconds=3.0,
    declines=3_000,
    latency_seconds=10.0,
    webhooks=6_000,
    payments=200_000,
)


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _measure(what: str, fn: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run one measurement; a failure is reported and returned as an error, not raised."""
    _say(f"{what} ...")
    started = time.monotonic()
    try:
        value = fn()
    except Exception as exc:
        _say(f"{what} FAILED: {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stderr)
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    _say(f"{what}: {value} ({time.monotonic() - started:.0f} s)")
    return value, None


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sizes = QUICK if args.quick else Sizes()
        self.run_dir: Path = args.run_dir
        s = self.sizes
        million = f"{s.payments:,} payments".replace(",", " ")
        self.figures = {
            "passthrough": Figure("confluent-kafka passthrough (consume->produce)", "msgs/s"),
            "faust": Figure("trivial faust agent (framework ceiling)", "events/s"),
            "http": Figure("raw aiohttp -> sandbox 0 ms, 64 in flight (HTTP ceiling)", "req/s"),
            "floor": Figure("faust floor: table + create + table + status per event", "events/s"),
            "p0": Figure("pipeline, sandbox 0 ms", "declines/s", Target.ge(2000)),
            "p0_ratio": Figure("pipeline 0 ms / faust ceiling", "", Target.ge(0.35), percent=True),
            "p0_floor": Figure("pipeline 0 ms / faust floor", "", percent=True),
            "p50": Figure("pipeline, sandbox 50 ms", "declines/s"),
            "p50_ratio": Figure("pipeline 50 ms / 0 ms", "", Target.ge(0.90), percent=True),
            "lat50": Figure(f"decline->PENDING p50 at {s.latency_rate:g}/s", "ms"),
            "lat99": Figure(f"decline->PENDING p99 at {s.latency_rate:g}/s", "ms", Target.lt(50)),
            "lat50_first": Figure(f"decline->PENDING p50 at {s.latency_rate:g}/s, first 5 s", "ms"),
            "lat99_first": Figure(f"decline->PENDING p99 at {s.latency_rate:g}/s, first 5 s", "ms"),
            "wh": Figure("webhooks acknowledged, 32 connections", "req/s", Target.ge(3000)),
            "wh50": Figure("webhook ack p50", "ms"),
            "wh99": Figure("webhook ack p99", "ms", Target.lt(25)),
            "wh_cpu": Figure("worker CPU per webhook (endpoint + agent)", "us"),
            "wh_drain": Figure("agent backlog after the webhook load", "s"),
            "whp50": Figure("webhook ack p50 at 300/s offered", "ms"),
            "whp99": Figure("webhook ack p99 at 300/s offered", "ms"),
            "rss_first": Figure(f"peak RSS, first start recovering {million}", "MB", Target.lt(400)),
            "rss": Figure(f"peak RSS, restarts with {million} + traffic", "MB", Target.lt(400)),
            "restart": Figure(f"restart to ready with {million}", "s", Target.lt(30)),
            "recovery": Figure(f"first start: recover {million} from the changelog", "s"),
            "live_traffic": Figure("slowest /live answer, 2 000 declines at once", "ms"),
            "live_scan": Figure(f"slowest /live answer, full scans of {million}", "ms"),
        }
        self._pipeline: Any = None
        self._pipeline_checked = False

    # --- sections ------------------------------------------------------------------------------
    def round(self, index: int, sections: set[str]) -> None:
        _say(f"--- round {index} of {self.args.runs}")
        directory = self.run_dir / f"round-{index}"
        faust = floor = p0 = p50 = None
        f, s = self.figures, self.sizes
        if "limits" in sections:
            faust, floor = self._limits(directory / "limits")
        if "pipeline" in sections and (pipeline := self._pipeline_module()) is not None:
            p0 = self._add(
                f["p0"],
                "pipeline 0 ms",
                lambda: pipeline.pipeline_throughput(
                    directory / "pipeline-0ms", latency_ms=0.0, declines=s.declines
                ),
            )
            p50 = self._add(
                f["p50"],
                "pipeline 50 ms",
                lambda: pipeline.pipeline_throughput(
                    directory / "pipeline-50ms", latency_ms=50.0, declines=s.declines
                ),
            )
            latency, error = _measure(
                "pipeline latency",
                lambda: pipeline.pipeline_latency(
                    directory / "latency", rate=s.latency_rate, seconds=s.latency_seconds
                ),
            )
            f["lat50"].add(latency.p50 if latency else None, error)
            f["lat99"].add(latency.p99 if latency else None, error)
            f["lat50_first"].add(latency.first_p50 if latency else None, error)
            f["lat99_first"].add(latency.first_p99 if latency else None, error)
        if p0 is not None and faust:
            f["p0_ratio"].add(p0 / faust)
        if p0 is not None and floor:
            f["p0_floor"].add(p0 / floor)
        if p0 and p50 is not None:
            f["p50_ratio"].add(p50 / p0)
        if "webhooks" in sections:
            self._webhooks(directory / "webhooks")

    def _limits(self, directory: Path) -> tuple[float | None, float | None]:
        from tests.bench.limits import aiohttp_ceiling, faust_ceiling, passthrough_rate, pipeline_floor

        f, s = self.figures, self.sizes
        directory.mkdir(parents=True, exist_ok=True)
        faust = floor = None
        try:
            with EmbeddedBroker(log_file=directory / "broker.log") as broker:
                self._add(
                    f["passthrough"],
                    "passthrough",
                    lambda: passthrough_rate(broker.bootstrap, messages=s.passthrough),
                )
                faust = self._add(
                    f["faust"],
                    "faust ceiling",
                    lambda: faust_ceiling(broker.bootstrap, directory, events=s.faust_events),
                )
                floor = self._add(
                    f["floor"],
                    "faust floor",
                    lambda: pipeline_floor(broker.bootstrap, directory, events=s.floor_events),
                )
        except Exception as exc:  # the broker itself did not start
            for key in ("passthrough", "faust", "floor"):
                f[key].add(None, f"broker: {exc}")
        self._add(f["http"], "aiohttp ceiling", lambda: aiohttp_ceiling(seconds=s.http_seconds))
        return faust, floor

    def _webhooks(self, directory: Path) -> None:
        from tests.bench.webhooks import webhook_run

        f = self.figures
        run, error = _measure("webhooks", lambda: webhook_run(directory, webhooks=self.sizes.webhooks))
        f["wh"].add(run.rate if run else None, error)
        f["wh50"].add(run.p50_ms if run else None, error)
        f["wh99"].add(run.p99_ms if run else None, error)
        f["wh_cpu"].add(run.cpu_us if run else None, error)
        f["wh_drain"].add(run.applied_s if run else None, error or "the agent did not catch up")
        f["whp50"].add(run.paced_p50_ms if run else None, error)
        f["whp99"].add(run.paced_p99_ms if run else None, error)

    def table(self) -> None:
        from tests.bench.big_table import big_table

        f = self.figures
        result, error = _measure(
            "table",
            lambda: big_table(self.run_dir / "table", payments=self.sizes.payments, restarts=self.args.runs),
        )
        if result is None:
            for key in ("rss_first", "rss", "restart", "recovery", "live_traffic", "live_scan"):
                f[key].add(None, error)
            return
        f["recovery"].add(result.recovery_s or None, "; ".join(result.errors) or None)
        f["rss_first"].add(result.rss_mb[0] if result.rss_mb else None, "; ".join(result.errors) or None)
        for value in result.rss_mb[1:]:
            f["rss"].add(value)
        for value in result.restart_s:
            f["restart"].add(value)
        for value in result.live_traffic_ms:
            f["live_traffic"].add(value)
        for value in result.live_scan_ms:
            f["live_scan"].add(value)
        for message in result.errors:
            f["restart"].add(None, message)

    # --- helpers -------------------------------------------------------------------------------
    def _add(self, figure: Figure, what: str, fn: Callable[[], float]) -> float | None:
        value, error = _measure(what, fn)
        figure.add(value, error)
        return value

    def _pipeline_module(self) -> Any:
        if not self._pipeline_checked:
            self._pipeline_checked = True
            try:
                from tests.bench import bench_pipeline
            except ImportError:
                print("pipeline: not yet", flush=True)
            else:
                self._pipeline = bench_pipeline
        return self._pipeline

    def report(self) -> tuple[str, str]:
        wanted = set(self.args.sections)
        keys = [
            *(("passthrough", "faust", "floor", "http") if "limits" in wanted else ()),
            *(
                (
                    "p0",
                    "p0_ratio",
                    "p0_floor",
                    "p50",
                    "p50_ratio",
                    "lat50",
                    "lat99",
                    "lat50_first",
                    "lat99_first",
                )
                if "pipeline" in wanted
                else ()
            ),
            *(("wh", "wh50", "wh99", "wh_cpu", "wh_drain", "whp50", "whp99") if "webhooks" in wanted else ()),
            *(
                ("rss_first", "rss", "restart", "recovery", "live_traffic", "live_scan")
                if "table" in wanted
                else ()
            ),
        ]
        figures = [self.figures[k] for k in keys if self.figures[k].attempts]
        return format_table(figures), format_table(figures, markdown=True)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds (and worker restarts); default 3")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"sections, from {','.join(SECTIONS)}")
    parser.add_argument("--run-dir", type=Path, default=None, help="where logs go (default: a new temp dir)")
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown or args.runs < 1:
        parser.error(f"unknown sections {sorted(unknown)}" if unknown else "--runs must be at least 1")
    args.run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="paymend-bench-"))
    args.run_dir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    started = time.monotonic()
    _say(f"run dir {args.run_dir}; {os.cpu_count()} CPUs; {_load()}; sizes {bench.sizes}")
    sections = set(args.sections)
    if sections - {"table"}:
        for index in range(1, args.runs + 1):
            bench.round(index, sections)
    if "table" in sections:
        bench.table()
    text, markdown = bench.report()
    minutes = (time.monotonic() - started) / 60
    footer = f"{args.runs} run(s){' (quick sizes)' if args.quick else ''}, {minutes:.0f} min, {_load()}"
    (args.run_dir / "bench.md").write_text(markdown + f"\n\n{footer}\n")
    print(f"\n{text}\n\n{footer}; logs and bench.md in {args.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
