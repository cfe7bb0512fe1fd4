"""`python -m streams run`: the whole system on one machine, for a newcomer and for demos.

Starts, in order: the embedded broker (unless `KAFKA_BOOTSTRAP` names one), the service's topics,
and the Paymend sandbox simulator; records every pid in `<run-dir>/pids.json` (for `make stop`);
then waits until Ctrl-C or SIGTERM and stops everything it started, newest first. Children die
with this process even on `kill -9` (see `streams.processes`). If a child exits by itself, the
run stops everything and says which one, with the tail of its log.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from streams.broker.client_config import confluent_config
from streams.broker.embedded import EmbeddedBroker, free_port
from streams.broker.topics import ensure_topics, service_topics
from streams.local.pidfile import RunRecord, alive, clear_records, read_records, write_records
from streams.processes import spawn, terminate
from streams.settings import Settings

__all__ = ["LOCAL_SANDBOX_TOKEN", "add_arguments", "main"]

#: The bearer token of the local sandbox: not a secret, it only opens the simulator.
LOCAL_SANDBOX_TOKEN = "local-sandbox-token"  # noqa: S105


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", type=Path, default=Path(".run"), help="pids and logs (default .run)")
    parser.add_argument("--sandbox-port", type=int, default=0, help="sandbox port (default: a free one)")
    parser.add_argument(
        "--exit-after", type=float, default=0.0, help="stop by itself after this many seconds (0: never)"
    )


class _Stack:
    """What this run started, in start order, and the pid records written for `stop`."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.children: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        self.records = [RunRecord("run", os.getpid(), _own_cmdline())]

    def record(self, name: str, pid: int, cmdline: tuple[str, ...]) -> None:
        self.records.append(RunRecord(name, pid, cmdline))
        write_records(self.run_dir, self.records)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.run_dir / f"{name}.log"
        proc = spawn(argv, log, env=env)
        self.children.append((name, proc, log))
        self.record(name, proc.pid, tuple(argv))
        return proc

    def exited(self) -> tuple[str, int, Path] | None:
        for name, proc, log in self.children:
            if proc.poll() is not None:
                return name, proc.returncode, log
        return None

    def stop_all(self) -> None:
        for name, proc, _ in reversed(self.children):
            terminate(proc, 8.0, name=name)


def main(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir.resolve()
    already = [r for r in read_records(run_dir) if alive(r)]
    if already:
        names = ", ".join(f"{r.name} (pid {r.pid})" for r in already)
        print(f"already running: {names}. Stop it with `make stop`.", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    settings = Settings.from_env(os.environ)
    stack = _Stack(run_dir)
    write_records(run_dir, stack.records)
    with ExitStack() as cleanup:
        cleanup.callback(clear_records, run_dir)
        cleanup.callback(stack.stop_all)
        settings = cleanup.enter_context(_kafka(settings, stack))
        ensure_topics(confluent_config(settings), service_topics(settings), timeout=30.0)
        sandbox_url = _start_sandbox(stack, args.sandbox_port)
        _print_banner(settings, sandbox_url, run_dir)
        deadline = time.monotonic() + args.exit_after if args.exit_after > 0 else None
        while not stop.wait(0.5):
            dead = stack.exited()
            if dead is not None:
                name, code, log = dead
                print(f"\n{name} exited with code {code}; stopping everything. Log: {log}", file=sys.stderr)
                print(_tail(log), file=sys.stderr)
                return 1
            if deadline is not None and time.monotonic() >= deadline:
                break
        print("\nstopping ...", file=sys.stderr)
    print("stopped.", file=sys.stderr)
    return 0


@contextmanager
def _kafka(settings: Settings, stack: _Stack) -> Iterator[Settings]:
    """The configured Kafka, or an embedded broker when `KAFKA_BOOTSTRAP` is empty."""
    if settings.kafka_bootstrap:
        yield settings
        return
    with EmbeddedBroker(log_file=stack.run_dir / "broker.log") as broker:
        binary_cmd = Path(f"/proc/{broker.pid}/cmdline").read_bytes().split(b"\0")
        stack.record("broker", broker.pid, tuple(p.decode() for p in binary_cmd if p))
        yield dataclasses.replace(
            settings, kafka_bootstrap=broker.bootstrap, kafka_embedded=True, topic_replication_factor=1
        )


def _start_sandbox(stack: _Stack, port: int) -> str:
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "streams", "sandbox", "--port", str(port)]
    proc = stack.start("sandbox", argv, env={**os.environ, "SANDBOX_TOKEN": LOCAL_SANDBOX_TOKEN})
    _wait_http(f"{url}/_sandbox/health", proc, stack.run_dir / "sandbox.log")
    return url


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    """Until `url` answers any HTTP status (the server is up), or raise with the log tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} process exited with {proc.returncode}:\n{_tail(log)}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)  # polling for the port to open, bounded by the deadline
    raise RuntimeError(f"{url} did not answer within {timeout:g} s:\n{_tail(log)}")


def _print_banner(settings: Settings, sandbox_url: str, run_dir: Path) -> None:
    print(
        "\npaymend-streams local stack is up\n"
        f"  Kafka bootstrap : {settings.kafka_bootstrap}"
        f"{' (embedded Tansu, memory only)' if settings.kafka_embedded else ''}\n"
        f"  Paymend sandbox : {sandbox_url}  (bearer token {LOCAL_SANDBOX_TOKEN!r})\n"
        f"  topics          : {', '.join(s.name for s in service_topics(settings))}\n"
        f"  logs and pids   : {run_dir}\n"
        "Ctrl-C (or `make stop` from another terminal) stops everything.\n",
        flush=True,
    )


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _own_cmdline() -> tuple[str, ...]:
    raw = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().split(b"\0")
    return tuple(p.decode(errors="replace") for p in raw if p)
