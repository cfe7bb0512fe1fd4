"""`python -m streams run` and `stop` as a user runs them: real processes, real pids, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streams.local.pidfile import alive, read_records

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
def local_run(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams", "run", "--run-dir", str(run_dir)],
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
    assert {r.name for r in records} >= {"run", "broker", "sandbox"}
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
