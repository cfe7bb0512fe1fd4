"""kill -9 the worker during a decline run, restarting it each time.

All declines are produced at once (and the stops of every tenth payment, see `payments.Workload`);
the worker is killed with SIGKILL each time another 1/(kills + 1) of the payments has a status on
the status topic, so every kill lands mid-stream: calls in flight, acks pending, webhooks
arriving. A new worker starts at once with the same consumer group and RocksDB directory, as a
restarted pod would. Then `payments.settle` counts: no decline without a Paymend payment, no
duplicate payment, every payment's final status on the status topic.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from tests.chaos.payments import StatusView, Workload, run_workload, wait_progress
from tests.chaos.result import Result
from tests.harness.system import System

__all__ = ["kill_restart"]


def kill_restart(run_dir: Path, *, declines: int = 20_000, kills: int = 10, stop_every: int = 10) -> Result:
    result = Result(f"kill -9 x{kills}")
    started = time.monotonic()
    workload = Workload.make("kill", declines, stop_every=stop_every)
    restarts: list[float] = []

    def kill_and_restart(system: System, view: StatusView) -> None:
        for kill in range(1, kills + 1):
            # stopped payments may never get a status: aim below the share that will
            target = int(0.9 * declines * kill / (kills + 1))
            if not wait_progress(system, workload, view, target):
                result.fail(f"kill {kill}: {len(view.by_payment)} of {target} payments progressed")
                result.check(system.worker.alive, f"the worker exited by itself:\n{system.worker.log_tail()}")
            system.worker.kill()
            restarts.append(system.start_worker().wait_ready())

    run_workload(result, run_dir, workload, during=kill_and_restart)
    result.details["kills"] = len(restarts)
    if restarts:
        result.details["restart to ready s (median)"] = statistics.median(restarts)
    result.seconds = time.monotonic() - started
    return result
