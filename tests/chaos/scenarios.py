"""Every scenario of the reliability suite with its full size (`make chaos`) and its short size
(`tests/integration/test_chaos.py`, in `make test`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.chaos.bad_input import bad_input
from tests.chaos.crashes import kill_restart
from tests.chaos.faults import paymend_faults
from tests.chaos.races import cancel_races
from tests.chaos.result import Result
from tests.chaos.stall import broker_stall
from tests.chaos.webhooks import webhook_chaos

__all__ = ["SCENARIOS", "Scenario"]


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[..., Result]  # run(run_dir, **size)
    full: Mapping[str, Any]
    short: Mapping[str, Any]

    def __call__(self, run_dir: Path, *, short: bool = False, **sizes: Any) -> Result:
        return self.run(run_dir, **{**(self.short if short else self.full), **sizes})


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("kill", kill_restart, {"declines": 20_000, "kills": 10}, {"declines": 300, "kills": 2}),
        Scenario("faults", paymend_faults, {"declines": 5_000}, {"declines": 150}),
        Scenario("webhooks", webhook_chaos, {"payments": 2_000}, {"payments": 100}),
        Scenario("races", cancel_races, {"examples": 10_000}, {"examples": 300}),
        Scenario("bad-input", bad_input, {"events": 10_000, "bodies": 1_000}, {"events": 200, "bodies": 50}),
        Scenario("stall", broker_stall, {"stall_s": 15.0, "payments": 300}, {"stall_s": 3.0, "payments": 20}),
    )
}
