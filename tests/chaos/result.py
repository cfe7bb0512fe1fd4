"""`Result`: what one scenario sent, what arrived, what went wrong; and the table of results."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["MAX_FAILURES_SHOWN", "Result", "table"]

#: The failures a result keeps by example (every one is counted).
MAX_FAILURES_SHOWN = 20


@dataclass
class Result:
    """One scenario's figures.

    `sent`: what the scenario put in (declines, records, webhook requests, property examples);
    `arrived`: how many of those came out as they must (a final status, a dead letter, ...);
    `lost`: how many came out nowhere; `duplicates`: how many came out twice where once is the
    rule; `violations`: every other broken invariant (each counted once, described in `failures`).
    `details` holds the scenario's own figures (kills, faults injected, creates re-sent, ...).
    """

    scenario: str
    sent: int = 0
    arrived: int = 0
    lost: int = 0
    duplicates: int = 0
    violations: int = 0
    seconds: float = 0.0
    details: dict[str, int | float | str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and self.lost == 0 and self.duplicates == 0 and self.violations == 0

    def fail(self, what: str) -> None:
        """Count one violation and keep its description (the first `MAX_FAILURES_SHOWN`)."""
        self.violations += 1
        self.note_failure(what)

    def note_failure(self, what: str) -> None:
        """Keep a description of something counted elsewhere (lost, duplicates)."""
        if len(self.failures) < MAX_FAILURES_SHOWN:
            self.failures.append(what)
        elif len(self.failures) == MAX_FAILURES_SHOWN:
            self.failures.append("... (more failures not shown)")

    def check(self, condition: bool, what: str) -> None:
        """A violation when `condition` is false."""
        if not condition:
            self.fail(what)

    def summary(self) -> str:
        details = ", ".join(f"{k} {_figure(v)}" for k, v in self.details.items())
        head = (
            f"{self.scenario}: sent {self.sent:,}, arrived {self.arrived:,}, lost {self.lost:,}, "
            f"duplicates {self.duplicates:,}, violations {self.violations:,} in {self.seconds:.0f} s"
        )
        lines = [head + (f" ({details})" if details else "")]
        lines += [f"  - {failure}" for failure in self.failures]
        return "\n".join(lines)


def _figure(value: int | float | str) -> str:
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.1f}"


_COLUMNS: Sequence[str] = ("scenario", "sent", "arrived", "lost", "duplicates", "violations", "seconds")


def table(results: Iterable[Result]) -> str:
    """A Markdown table of the results, one row each, then each scenario's details."""
    rows = [
        [
            r.scenario,
            f"{r.sent:,}",
            f"{r.arrived:,}",
            f"{r.lost:,}",
            f"{r.duplicates:,}",
            f"{r.violations:,}",
            f"{r.seconds:.0f}",
        ]
        for r in results
    ]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(_COLUMNS)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    separator = "|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(_COLUMNS), separator, *(line(row) for row in rows)])
