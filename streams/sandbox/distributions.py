"""Delay distributions in milliseconds, written as short specs: one parser, one sampler.

A spec is `KIND:PARAMS`:

- `fixed:MS` (e.g. `fixed:0`, the default API latency);
- `uniform:LOW,HIGH` (e.g. `uniform:1000,3000`, the default PENDING resolution delay);
- `lognormal:MEDIAN,SIGMA[,MAX]` (a long-tailed latency: `lognormal:20,0.5,500`; `MAX` clamps the tail).

The same specs configure the API latency (`faults.py`) and the PENDING resolution delay
(`lifecycle.py`). Sampling takes the caller's seeded `random.Random`, so runs are reproducible.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

__all__ = ["Distribution", "parse_distribution"]

Kind = Literal["fixed", "uniform", "lognormal"]


@dataclass(frozen=True, slots=True)
class Distribution:
    """A parsed spec. `a`/`b`/`cap` mean value, or low/high, or median/sigma/max."""

    kind: Kind
    a: float
    b: float = 0.0
    cap: float = math.inf

    @property
    def is_zero(self) -> bool:
        """True when every sample is 0 ms: callers skip the sleep altogether."""
        return self.kind == "fixed" and self.a == 0

    def sample(self, rng: random.Random) -> float:
        """One delay in milliseconds (never negative)."""
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        return min(self.cap, rng.lognormvariate(math.log(self.a), self.b))

    def __str__(self) -> str:
        if self.kind == "fixed":
            return f"fixed:{self.a:g}"
        if self.kind == "uniform":
            return f"uniform:{self.a:g},{self.b:g}"
        tail = "" if math.isinf(self.cap) else f",{self.cap:g}"
        return f"lognormal:{self.a:g},{self.b:g}{tail}"


def parse_distribution(spec: str) -> Distribution:
    """Parse `fixed:MS`, `uniform:LOW,HIGH` or `lognormal:MEDIAN,SIGMA[,MAX]`; ValueError otherwise."""
    kind, _, rest = spec.strip().partition(":")
    try:
        params = [float(p) for p in rest.split(",")] if rest else []
    except ValueError:
        raise ValueError(f"{spec!r}: parameters must be numbers") from None
    if any(p < 0 or math.isnan(p) for p in params):
        raise ValueError(f"{spec!r}: parameters must be non-negative")
    if kind == "fixed" and len(params) == 1:
        return Distribution("fixed", params[0])
    if kind == "uniform" and len(params) == 2:
        if params[0] > params[1]:
            raise ValueError(f"{spec!r}: LOW must not exceed HIGH")
        return Distribution("uniform", params[0], params[1])
    if kind == "lognormal" and len(params) in (2, 3):
        if params[0] <= 0:
            raise ValueError(f"{spec!r}: MEDIAN must be positive")
        cap = params[2] if len(params) == 3 else math.inf
        return Distribution("lognormal", params[0], params[1], cap)
    raise ValueError(f"{spec!r}: expected fixed:MS, uniform:LOW,HIGH or lognormal:MEDIAN,SIGMA[,MAX]")
