"""`python -m tests.chaos`: run the reliability suite and print its figures (`make chaos`).

    python -m tests.chaos                          # every scenario at full size
    python -m tests.chaos --only kill --only stall # some of them
    python -m tests.chaos --short                  # the sizes `make test` uses
    python -m tests.chaos --set kill.declines=2000 --set kill.kills=3

Each scenario's summary (with its failures) is printed as it ends, then one table; the exit code
is 1 when any scenario lost, duplicated or violated anything (or could not run). Logs of every
process stay in the run directory (default `.run/chaos/<time>`).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from tests.chaos.result import Result, table
from tests.chaos.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _sizes(settings: list[str]) -> dict[str, dict[str, Any]]:
    sizes: dict[str, dict[str, Any]] = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        scenario, _, parameter = name.partition(".")
        if scenario not in SCENARIOS or not parameter or not value:
            raise SystemExit(
                f"--set {setting}: expected SCENARIO.PARAMETER=VALUE, scenarios {sorted(SCENARIOS)}"
            )
        sizes.setdefault(scenario, {})[parameter] = _value(value)
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", action="append", choices=sorted(SCENARIOS), help="run this scenario (repeatable)"
    )
    parser.add_argument("--short", action="store_true", help="the short sizes of `make test`")
    parser.add_argument("--set", action="append", default=[], metavar="SCENARIO.PARAMETER=VALUE")
    parser.add_argument("--run-dir", type=Path, help="where logs go (default .run/chaos/<time>)")
    args = parser.parse_args(argv)
    sizes = _sizes(args.set)
    run_dir = args.run_dir or ROOT / ".run" / "chaos" / time.strftime("%Y%m%d-%H%M%S")
    names = args.only or list(SCENARIOS)
    print(f"reliability suite: {', '.join(names)}; logs in {run_dir}", flush=True)
    results: list[Result] = []
    for name in names:
        scenario = SCENARIOS[name]
        started = time.monotonic()
        try:
            result = scenario(run_dir / name, short=args.short, **sizes.get(name, {}))
        except Exception as exc:  # a scenario that cannot run is a failed scenario, not the end
            result = Result(name, seconds=time.monotonic() - started)
            result.fail(f"could not run: {type(exc).__name__}: {exc}")
            traceback.print_exc()
        results.append(result)
        print(result.summary(), flush=True)
    print()
    print(table(results))
    failed = [r.scenario for r in results if not r.ok]
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    print("\nall scenarios passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
