"""An oracle for card-number masking, written independently of `schemas.masking`, and hypothesis
strategies that generate Luhn-valid PANs inside text."""

from __future__ import annotations

import re

from hypothesis import strategies as st

_RUN = re.compile(r"[0-9](?:[ -]?[0-9])*")


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        n = int(char) * (2 if position % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def luhn_pans_in(text: str) -> list[str]:
    """Every Luhn-valid 12-19 digit stretch of a digit run (digits joined by single spaces/dashes)."""
    found = []
    for run in _RUN.finditer(text):
        digits = re.sub(r"[ -]", "", run.group())
        for start in range(len(digits)):
            for length in range(12, 20):
                window = digits[start : start + length]
                if len(window) == length and _luhn(window):
                    found.append(window)
    return found


def with_check_digit(body: str) -> str:
    for check in "0123456789":
        if _luhn(body + check):
            return body + check
    raise AssertionError("unreachable")


pans = st.integers(min_value=11, max_value=18).flatmap(
    lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n).map(with_check_digit)
)


def _grouped(pan: str, separator: str) -> str:
    return separator.join(pan[i : i + 4] for i in range(0, len(pan), 4))


formatted_pans = st.tuples(pans, st.sampled_from(["", " ", "-"])).map(lambda t: _grouped(*t))
texts_with_pans = st.lists(st.one_of(st.text(max_size=15), formatted_pans), max_size=8).flatmap(
    lambda parts: st.lists(
        st.sampled_from(["", " ", "-", "x", "\n", '": "', "0"]), min_size=len(parts), max_size=len(parts)
    ).map(lambda seps: "".join(p + s for p, s in zip(parts, seps, strict=True)))
)
