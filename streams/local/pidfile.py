"""The record of what `python -m streams run` started, so `stop` can end exactly those processes.

`<run-dir>/pids.json` lists each process's name, pid and the command line it was started with.
A pid is only signalled while `/proc/<pid>/cmdline` still matches what was recorded, so a pid
that the system has since reused for another program is never touched.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

__all__ = ["RunRecord", "alive", "clear_records", "read_records", "stop_recorded", "write_records"]

PIDS_FILE = "pids.json"


@dataclass(frozen=True, slots=True)
class RunRecord:
    name: str
    pid: int
    cmdline: tuple[str, ...]


def write_records(run_dir: Path, records: list[RunRecord]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / f"{PIDS_FILE}.tmp"
    tmp.write_bytes(orjson.dumps([asdict(r) for r in records], option=orjson.OPT_INDENT_2))
    tmp.replace(run_dir / PIDS_FILE)


def read_records(run_dir: Path) -> list[RunRecord]:
    try:
        raw = orjson.loads((run_dir / PIDS_FILE).read_bytes())
    except FileNotFoundError:
        return []
    return [RunRecord(r["name"], int(r["pid"]), tuple(r["cmdline"])) for r in raw]


def clear_records(run_dir: Path) -> None:
    (run_dir / PIDS_FILE).unlink(missing_ok=True)


def alive(record: RunRecord) -> bool:
    """True while the recorded pid runs the recorded command line."""
    try:
        cmdline = Path(f"/proc/{record.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    current = tuple(part.decode(errors="replace") for part in cmdline if part)
    return current == record.cmdline


def stop_recorded(run_dir: Path, grace: float = 8.0) -> list[str]:
    """Stop every recorded process still alive, first in first signalled; returns their names.

    The supervisor (`run`) is recorded first: it stops its children in order on SIGTERM; any child
    still alive after that is signalled by pid.
    """
    stopped = []
    for record in read_records(run_dir):
        if not alive(record):
            continue
        os.kill(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while alive(record) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for exit, bounded by the deadline
        if alive(record):
            os.kill(record.pid, signal.SIGKILL)
        stopped.append(record.name)
    clear_records(run_dir)
    return stopped
