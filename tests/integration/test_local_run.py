"""`python -m streams run` and `stop` as a user runs them: real processes, real pids, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.broker.embedded import free_port
from streams.local.pidfile import alive, read_records
from streams.local.run import LOCAL_SANDBOX_TOKEN
from tests.fixtures.sandbox import payment_request

pytestmark = pytest.mark.integration

BANNER = "local stack is up"


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)  # polling, bounded by the deadline
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def run_args() -> list[str]:
    return []


@pytest.fixture
def local_run(tmp_path: Path, run_args: list[str]) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams", "run", "--run-dir", str(run_dir), *run_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if BANNER in line:
            break
    assert any(BANNER in line for line in lines), "".join(lines)
    try:
        yield proc, run_dir
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_stop_ends_every_process_that_run_started(local_run: tuple[subprocess.Popen[str], Path]) -> None:
    proc, run_dir = local_run
    records = read_records(run_dir)
    assert {r.name for r in records} >= {"run", "broker", "sandbox", "worker", "demo"}
    assert all(alive(r) for r in records)

    stop = subprocess.run(
        [sys.executable, "-m", "streams", "stop", "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert "stopped: run" in stop.stdout
    assert proc.wait(timeout=30) == 0
    assert not any(alive(r) for r in records)
    assert read_records(run_dir) == []


def test_children_die_with_a_killed_run(local_run: tuple[subprocess.Popen[str], Path]) -> None:
    proc, run_dir = local_run
    children = [r for r in read_records(run_dir) if r.name != "run"]
    assert children

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    _wait_for(lambda: not any(alive(r) for r in children), 15, "children to die with their parent")


def test_a_second_run_refuses_while_the_first_is_alive(local_run: tuple[subprocess.Popen[str], Path]) -> None:
    _, run_dir = local_run
    second = subprocess.run(
        [sys.executable, "-m", "streams", "run", "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert second.returncode == 1
    assert "already running" in second.stderr


SANDBOX_PORT, WORKER_PORT = free_port(), free_port()


@pytest.mark.parametrize(
    "run_args", [["--sandbox-port", str(SANDBOX_PORT), "--worker-port", str(WORKER_PORT)]]
)
def test_the_sandbox_webhooks_reach_the_worker(local_run: tuple[subprocess.Popen[str], Path]) -> None:
    proc, _ = local_run
    worker = f"http://127.0.0.1:{WORKER_PORT}"
    assert httpx.get(f"{worker}/ready", timeout=5).status_code == 200
    created = httpx.post(
        f"http://127.0.0.1:{SANDBOX_PORT}/v1/payments",
        json=payment_request(reference="ORDER-LOCAL-RUN"),
        headers={"Authorization": f"Bearer {LOCAL_SANDBOX_TOKEN}"},
        timeout=5,
    )
    assert created.status_code == 200, created.text

    def written() -> bool:
        text = httpx.get(f"{worker}/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            if family.name == "paymend_streams_webhooks_written":
                return any(s.name.endswith("_total") and s.value >= 1 for s in family.samples)
        return False

    _wait_for(written, 15, "the sandbox's webhook to be written by the worker")
    assert proc.poll() is None


def test_demo_traffic_is_recovered_and_shown(local_run: tuple[subprocess.Popen[str], Path]) -> None:
    proc, _ = local_run
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        fields = dict(part.strip().rsplit(" ", 1) for part in line.split("|") if part.strip().count(" ") >= 1)
        if (
            int(fields.get("recovered", "0")) > 0
            and int(fields.get("voided", "0")) + int(fields.get("failed", "0")) > 0
        ):
            assert "recovery rate" in line
            return
    raise AssertionError("no progress line showed recovered and failed or voided payments within 60 s")
