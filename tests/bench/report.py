"""The benchmark's table: one `Figure` per measured quantity, its runs, target and verdict.

A `Figure` collects one value per run (`add`); the table shows the median, min and max of those
values, the target (`Target`: a bound and a direction) and a verdict: the ratio median / bound
and `ok` or `MISSED`. Values that failed to measure are recorded as `None` and shown in the `n`
column (successful / attempted runs); a figure with no value at all shows its error.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Figure", "Target", "format_table"]


@dataclass(frozen=True, slots=True)
class Target:
    """`value >= bound` (`at_least`) or `value < bound`; `text` is how the table shows it."""

    bound: float
    at_least: bool
    text: str

    def met(self, value: float) -> bool:
        return value >= self.bound if self.at_least else value < self.bound

    @classmethod
    def ge(cls, bound: float, unit: str = "") -> Target:
        return cls(bound, True, f">= {_number(bound)}{unit}")

    @classmethod
    def lt(cls, bound: float, unit: str = "") -> Target:
        return cls(bound, False, f"< {_number(bound)}{unit}")


@dataclass
class Figure:
    """One row of the table."""

    name: str
    unit: str
    target: Target | None = None
    percent: bool = False  # values are ratios, shown as percentages
    values: list[float] = field(default_factory=list)
    attempts: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, value: float | None, error: str | None = None) -> None:
        self.attempts += 1
        if value is not None and math.isfinite(value):
            self.values.append(value)
        elif error:
            self.errors.append(error)

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def verdict(self) -> str:
        median = self.median
        if median is None:
            return "not measured"
        if self.target is None:
            return ""
        ratio = median / self.target.bound if self.target.bound else math.inf
        return f"{ratio:.2f}x {'ok' if self.target.met(median) else 'MISSED'}"

    def cells(self) -> list[str]:
        shown = [self._show(v) for v in (self.median, _min(self.values), _max(self.values))]
        target = self.target.text if self.target else ""
        return [self.name, *shown, self.unit, target, self.verdict(), f"{len(self.values)}/{self.attempts}"]

    def _show(self, value: float | None) -> str:
        if value is None:
            return "-"
        return f"{value:.0%}" if self.percent else _number(value)


def _min(values: list[float]) -> float | None:
    return min(values) if values else None


def _max(values: list[float]) -> float | None:
    return max(values) if values else None


def _number(value: float) -> str:
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


HEADER = ["figure", "median", "min", "max", "unit", "target", "verdict", "n"]


def format_table(figures: Iterable[Figure], *, markdown: bool = False) -> str:
    """The table as aligned text, or as a Markdown table; errors are listed after it."""
    figures = list(figures)
    rows = [HEADER, *(f.cells() for f in figures)]
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        lines.insert(1, "|" + "|".join("---" for _ in HEADER) + "|")
    else:
        widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
        right = {1, 2, 3, 7}
        lines = [
            "  ".join(
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"- {f.name}: {error}" for f in figures for error in dict.fromkeys(f.errors)]
    if notes:
        lines += ["", "errors:", *notes]
    return "\n".join(lines)
