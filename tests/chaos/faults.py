"""Paymend faults: 20 % of API requests answered 5xx, 5 % 429, 5 % timing out.

The sandbox draws one fault per API request (create, get, void, refund alike): 503 before any
state change, 429 with a short Retry-After, or a stall longer than the worker's read timeout
followed by a closed connection. The worker's client retries them (idempotent creates by
merchantReference) and its executor retries what the client gives up on. Counted as in
`payments.settle`, plus the faults the sandbox injected.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.chaos.payments import StatusView, Workload, run_workload
from tests.chaos.result import Result
from tests.harness.system import System

__all__ = ["FAULTS_SANDBOX_ENV", "paymend_faults"]

FAULTS_SANDBOX_ENV = {
    "SANDBOX_FAULT_ERROR_RATE": "0.20",
    "SANDBOX_FAULT_RATE_LIMIT_RATE": "0.05",
    "SANDBOX_FAULT_RETRY_AFTER_MS": "100",
    "SANDBOX_FAULT_TIMEOUT_RATE": "0.05",
    "SANDBOX_FAULT_TIMEOUT_MS": "3000",
}
_READ_TIMEOUT_S = 1.0  # below the stall, so a timeout fault is a timeout to the client


def paymend_faults(run_dir: Path, *, declines: int = 5_000, stop_every: int = 10) -> Result:
    result = Result("Paymend faults 20/5/5 %")
    started = time.monotonic()
    workload = Workload.make("faults", declines, stop_every=stop_every)

    def count_faults(system: System, view: StatusView) -> None:
        stats = system.sandbox_stats()
        injected = stats["faultsInjected"]
        requests = sum(sum(by_status.values()) for by_status in stats["requests"].values())
        for action in ("error", "rate-limit", "timeout"):
            result.details[f"{action} faults"] = injected.get(action, 0)
        result.details["API requests"] = requests
        result.check(sum(injected.values()) > 0, "the sandbox injected no fault")

    run_workload(
        result,
        run_dir,
        workload,
        sandbox_env=FAULTS_SANDBOX_ENV,
        settings={"paymend_read_timeout_s": _READ_TIMEOUT_S},
        after=count_faults,
    )
    result.seconds = time.monotonic() - started
    return result
