"""`python -m schemas.export`: write the JSON Schema files of every public contract.

    python -m schemas.export           # (re)write schemas/json/*.schema.json, delete stale ones
    python -m schemas.export --check   # exit 1 if any file differs from what would be written

The files are checked in; `tests/unit/test_schema_files.py` fails when they are out of date.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from . import CONTRACTS
from .jsonschema import file_name, render

__all__ = ["SCHEMA_DIR", "expected_files", "main"]

SCHEMA_DIR: Final = Path(__file__).resolve().parent / "json"


def expected_files() -> dict[str, str]:
    """File name -> exact content, for every contract in `schemas.CONTRACTS`."""
    return {file_name(cls): render(cls) for cls in CONTRACTS}


def _differences(directory: Path) -> list[str]:
    expected = expected_files()
    problems = []
    for name, text in expected.items():
        path = directory / name
        if not path.exists():
            problems.append(f"missing: {path}")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"out of date: {path}")
    for path in sorted(directory.glob("*.schema.json")):
        if path.name not in expected:
            problems.append(f"stale: {path}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m schemas.export", description="Write the JSON Schema files of every public contract."
    )
    parser.add_argument("--check", action="store_true", help="only report files that differ; exit 1 if any")
    parser.add_argument("--out", type=Path, default=SCHEMA_DIR, help="directory (default: schemas/json)")
    args = parser.parse_args(argv)
    directory: Path = args.out
    if args.check:
        problems = _differences(directory)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python -m schemas.export", file=sys.stderr)
        return 1 if problems else 0
    directory.mkdir(parents=True, exist_ok=True)
    expected = expected_files()
    for name, text in expected.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    for path in sorted(directory.glob("*.schema.json")):
        if path.name not in expected:
            path.unlink()
            print(f"deleted stale {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
