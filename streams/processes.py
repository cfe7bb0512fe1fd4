"""Child processes that never outlive us: spawn with a parent-death signal, stop by pid.

Used by the embedded broker and by `python -m streams run` for the sandbox, the worker and the
demo generator. A child runs in its own session (a terminal's Ctrl-C reaches only us, and we stop
it in order) and, on Linux, with `PR_SET_PDEATHSIG=SIGKILL`, so it dies with us even after
`kill -9`. Linux sends that signal when the *thread* that spawned the child ends: spawn from a
long-lived thread (the main thread). Stopping signals only the pid we started: SIGTERM, then
SIGKILL after a grace period. Output goes to a log file, never to a pipe that could fill up.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = ["ProcessStopError", "parent_death_signal", "spawn", "terminate"]

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_KILL_WAIT_S = 5.0


class ProcessStopError(RuntimeError):
    """A child did not exit even after SIGKILL."""


def spawn(
    argv: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session, output appended to `log_path`, dying with this process."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {' '.join(argv)}\n".encode())
        log.flush()
        return subprocess.Popen(  # noqa: S603 - argv is built by our own code, never from input
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ if env is None else env),
            start_new_session=True,
            preexec_fn=parent_death_signal(),  # only prctl and getppid run in the child
        )


def parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGKILL the child when its parent dies (None elsewhere).

    libc is loaded here, before the fork: the child only calls prctl and getppid.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - unusual libc
        logger.warning("prctl unavailable: children may outlive this process if it is killed")
        return None
    parent = os.getpid()

    def set_death_signal() -> None:
        if prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return set_death_signal


def terminate(proc: subprocess.Popen[bytes], grace: float, *, name: str = "child") -> None:
    """SIGTERM, wait `grace` seconds, SIGKILL, wait; only this Popen's pid is signalled."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        logger.warning("%s pid %d ignored SIGTERM for %g s; sending SIGKILL", name, proc.pid, grace)
    proc.kill()
    try:
        proc.wait(timeout=_KILL_WAIT_S)
    except subprocess.TimeoutExpired as exc:
        raise ProcessStopError(f"{name} pid {proc.pid} did not exit after SIGKILL") from exc
