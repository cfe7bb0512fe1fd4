"""`python -m streams stop`: stop what `python -m streams run` started, by the pids it recorded."""

from __future__ import annotations

import argparse
from pathlib import Path

from streams.local.pidfile import stop_recorded

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", type=Path, default=Path(".run"), help="where `run` keeps its pids")


def main(args: argparse.Namespace) -> int:
    stopped = stop_recorded(args.run_dir.resolve())
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing to stop")
    return 0
