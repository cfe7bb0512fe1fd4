"""Cancel races on the pure core: the hypothesis property of `tests/unit/test_pipeline_properties.py`.

That property generates interleavings of declines, cancels, paid-elsewhere (with and without a
double charge), Paymend's answers to our calls, its background resolution, webhooks delivered
late, twice, out of order or never, and worker crashes; after each schedule the system settles and
it asserts: never a live payment (PENDING, AUTHORIZED) after a stop, never a capture left
unrefunded after a stop (settled elsewhere included), no decline after the stop reaching Paymend,
one Paymend payment per reference, statuses only forward. It is not copied here: the runner runs
that test file in a pytest subprocess with `PIPELINE_PROPERTY_EXAMPLES` set and reads the number
of cases hypothesis ran from its statistics.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.chaos.result import MAX_FAILURES_SHOWN, Result

__all__ = ["PROPERTY_TEST", "cancel_races"]

ROOT = Path(__file__).resolve().parents[2]
PROPERTY_TEST = "tests/unit/test_pipeline_properties.py"
_COUNTS = re.compile(r"(\d+) passing, (\d+) failing")


def cancel_races(run_dir: Path, *, examples: int = 10_000) -> Result:
    result = Result("cancel races (hypothesis)")
    started = time.monotonic()
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PIPELINE_PROPERTY_EXAMPLES": str(examples)}
    argv = [sys.executable, "-m", "pytest", PROPERTY_TEST, "-q", "-p", "no:cacheprovider"]
    completed = subprocess.run(
        [*argv, "--hypothesis-show-statistics", "--timeout", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = completed.stdout + completed.stderr
    (run_dir / "pytest.log").write_text(output)
    passing = failing = 0
    for match in _COUNTS.finditer(output):
        passing += int(match.group(1))
        failing += int(match.group(2))
    result.sent = passing + failing
    result.arrived = passing
    result.details["examples asked"] = examples
    if completed.returncode != 0:
        result.fail(f"pytest exited {completed.returncode}; the falsifying example:")
        for line in output.splitlines()[-MAX_FAILURES_SHOWN:]:
            result.note_failure(line)
    result.check(passing >= examples, f"hypothesis ran {passing} passing cases, fewer than {examples}")
    result.seconds = time.monotonic() - started
    return result
