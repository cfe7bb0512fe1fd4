"""`python -m streams run`: the whole system on one machine, for a newcomer and for demos.

Starts, in order: the embedded broker (unless `KAFKA_BOOTSTRAP` names one), the service's topics,
the Paymend sandbox simulator (sending its webhooks to the worker's endpoint), and the worker
(`python -m streams worker`, waited for until `/ready`), and demo traffic (`python -m streams
demo`, `--demo-rate`, 0 for none) with a progress line from the status topic; records every pid in
`<run-dir>/pids.json` (for `make stop`); then waits until Ctrl-C or SIGTERM and stops everything
it started, newest first. The worker's port is chosen before the sandbox starts, since the
sandbox needs the webhook URL; the worker's data directory (`<run-dir>/worker-data`) is wiped at
every start, as the embedded broker forgets every topic and offset when it stops. Children die
with this process even on `kill -9` (see `streams.processes`). If a child exits by itself, the
run stops everything and says which one, with the tail of its log.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
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
from streams.local.command_support import stop_on_signals
from streams.local.pidfile import RunRecord, alive, clear_records, read_records, write_records
from streams.local.progress import watch
from streams.processes import spawn, terminate
from streams.settings import Settings

__all__ = ["LOCAL_SANDBOX_TOKEN", "add_arguments", "main"]

#: The bearer token of the local sandbox: not a secret, it only opens the simulator.
LOCAL_SANDBOX_TOKEN = "local-sandbox-token"  # noqa: S105


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", type=Path, default=Path(".run"), help="pids and logs (default .run)")
    parser.add_argument("--sandbox-port", type=int, default=0, help="sandbox port (default: a free one)")
    parser.add_argument(
        "--demo-rate",
        type=float,
        default=5.0,
        help="demo payments per second; 0: none (default 5)",
    )
    parser.add_argument(
        "--worker-port", type=int, default=0, help="worker web port: webhooks, /metrics (default: a free one)"
    )
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
    stop = stop_on_signals()
    settings = Settings.from_env(os.environ)
    stack = _Stack(run_dir)
    write_records(run_dir, stack.records)
    with ExitStack() as cleanup:
        cleanup.callback(clear_records, run_dir)
        cleanup.callback(stack.stop_all)
        settings = cleanup.enter_context(_kafka(settings, stack))
        cleanup.callback(stack.stop_all)  # again, so the worker stops before its broker does
        ensure_topics(confluent_config(settings), service_topics(settings), timeout=30.0)
        worker_url = f"http://127.0.0.1:{args.worker_port or free_port()}"
        sandbox_url = _start_sandbox(stack, args.sandbox_port, settings, worker_url + settings.webhook_path)
        _start_worker(stack, settings, sandbox_url, worker_url)
        if args.demo_rate > 0:
            _start_demo(stack, settings, args.demo_rate)
        _print_banner(settings, sandbox_url, run_dir, worker_url)
        if args.demo_rate > 0:
            progress = threading.Thread(
                target=watch, kwargs={"settings": settings, "stop": stop, "out": sys.stdout}, daemon=True
            )
            progress.start()
            cleanup.callback(progress.join, 10.0)  # its consumer closes before the broker stops
            cleanup.callback(stop.set)
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


def _start_sandbox(stack: _Stack, port: int, settings: Settings, webhook_url: str) -> str:
    """The sandbox, sending its webhooks to `webhook_url` with the worker's token and first HMAC key."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "streams", "sandbox", "--port", str(port)]
    env = {**os.environ, "SANDBOX_TOKEN": LOCAL_SANDBOX_TOKEN, "SANDBOX_WEBHOOK_URL": webhook_url}
    if settings.webhook_token is not None:
        env["SANDBOX_WEBHOOK_TOKEN"] = settings.webhook_token.reveal()
        env["SANDBOX_WEBHOOK_TOKEN_PARAM"] = settings.webhook_token_param
    if settings.webhook_hmac_keys:
        env["SANDBOX_WEBHOOK_HMAC_SECRET"] = settings.webhook_hmac_keys[0].decode()
        env["SANDBOX_WEBHOOK_SIGNATURE_HEADER"] = settings.webhook_signature_header
    proc = stack.start("sandbox", argv, env=env)
    _wait_http(f"{url}/_sandbox/health", proc, stack.run_dir / "sandbox.log")
    return url


def _start_worker(stack: _Stack, settings: Settings, sandbox_url: str, worker_url: str) -> None:
    """`python -m streams worker` on this run's broker and sandbox; returns once `/ready` is 200."""
    data_dir = stack.run_dir / "worker-data"
    shutil.rmtree(data_dir, ignore_errors=True)  # tables must not outlive the broker's topics
    port = worker_url.rsplit(":", 1)[1]
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "KAFKA_EMBEDDED": "true" if settings.kafka_embedded else "false",
        "TOPIC_REPLICATION_FACTOR": str(settings.topic_replication_factor),
        "PAYMEND_BASE_URL": sandbox_url,
        "PAYMEND_API_TOKEN": LOCAL_SANDBOX_TOKEN,
        "WORKER_WEB_HOST": "127.0.0.1",
        "WORKER_WEB_PORT": port,
        "WORKER_DATA_DIR": str(data_dir),
    }
    proc = stack.start("worker", [sys.executable, "-m", "streams", "worker"], env=env)
    _wait_http(f"{worker_url}/ready", proc, stack.run_dir / "worker.log", timeout=90.0, want_ok=True)


def _start_demo(stack: _Stack, settings: Settings, rate: float) -> None:
    """Realistic merchant traffic (`python -m streams demo`) into this run's input topics."""
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "KAFKA_EMBEDDED": "true" if settings.kafka_embedded else "false",
    }
    stack.start("demo", [sys.executable, "-m", "streams", "demo", "--rate", f"{rate:g}"], env=env)


def _wait_http(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20.0, *, want_ok: bool = False
) -> None:
    """Until `url` answers any HTTP status (the server is up), or 200 with `want_ok`; else raise
    with the log tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} process exited with {proc.returncode}:\n{_tail(log)}")
        try:
            response = httpx.get(url, timeout=1.0)
            if not want_ok or response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling, bounded by the deadline
    raise RuntimeError(f"{url} did not answer{' 200' if want_ok else ''} within {timeout:g} s:\n{_tail(log)}")


def _print_banner(settings: Settings, sandbox_url: str, run_dir: Path, worker_url: str) -> None:
    print(
        "\npaymend-streams local stack is up\n"
        f"  Kafka bootstrap : {settings.kafka_bootstrap}"
        f"{' (embedded Tansu, memory only)' if settings.kafka_embedded else ''}\n"
        f"  Paymend sandbox : {sandbox_url}  (bearer token {LOCAL_SANDBOX_TOKEN!r})\n"
        f"  worker          : {worker_url}  (/ready, /live)\n"
        f"  webhook URL     : {worker_url}{settings.webhook_path}  (the sandbox posts here)\n"
        f"  metrics         : {worker_url}/metrics\n"
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
