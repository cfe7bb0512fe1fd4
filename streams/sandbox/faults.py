"""Fault injection on the API (`/v1/...`): added latency, and at most one fault per request.

Faults, drawn from one seeded RNG in this order of rates (they are exclusive; their sum <= 1):

| action         | what the client sees                            | state changed? |
|----------------|-------------------------------------------------|----------------|
| `error`        | `fault_error_status` (503) SERVICE_UNAVAILABLE   | no             |
| `rate-limit`   | 429 RATE_LIMITED with `Retry-After` (seconds)   | no             |
| `drop`         | the connection closes without an answer         | no             |
| `timeout`      | nothing for `fault_timeout_ms`, then a close    | no             |
| `commit-error` | the 5xx, after the request was applied          | **yes**        |
| `commit-drop`  | a closed connection, after the request applied  | **yes**        |

The `commit-*` ("fail after commit") faults are the case for testing idempotent re-drive: the
payment exists (or is captured...) although the client saw a failure. A script of actions
(`script`) overrides the random draw for the next requests, one action per request, in order
(`none` lets one request through); tests use it for deterministic sequences. Latency, rates and
statuses can be changed at run time (`configure`) without restarting the server.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter, deque
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Final

from streams.sandbox.config import FAULT_RATE_FIELDS, SandboxConfig

__all__ = ["FAULT_FIELDS", "FaultAction", "FaultInjector", "choose_action"]


class FaultAction(StrEnum):
    NONE = "none"
    ERROR = "error"
    RATE_LIMIT = "rate-limit"
    DROP = "drop"
    TIMEOUT = "timeout"
    COMMIT_ERROR = "commit-error"
    COMMIT_DROP = "commit-drop"

    @property
    def after_commit(self) -> bool:
        return self in (FaultAction.COMMIT_ERROR, FaultAction.COMMIT_DROP)


#: The action of each rate field, in FAULT_RATE_FIELDS order.
_RATE_ACTIONS: Final = dict(
    zip(
        FAULT_RATE_FIELDS,
        (
            FaultAction.ERROR,
            FaultAction.RATE_LIMIT,
            FaultAction.DROP,
            FaultAction.TIMEOUT,
            FaultAction.COMMIT_ERROR,
            FaultAction.COMMIT_DROP,
        ),
        strict=True,
    )
)
#: The settings `configure` may change at run time.
FAULT_FIELDS: Final = (
    "latency_ms",
    *FAULT_RATE_FIELDS,
    "fault_error_status",
    "fault_retry_after_ms",
    "fault_timeout_ms",
)


def choose_action(draw: float, config: SandboxConfig) -> FaultAction:
    """Map a uniform draw in [0, 1) onto the configured rates (`none` beyond their sum)."""
    for name, action in _RATE_ACTIONS.items():
        rate: float = getattr(config, name)
        if draw < rate:
            return action
        draw -= rate
    return FaultAction.NONE


class FaultInjector:
    """Decides, per API request, the added latency and the fault (if any)."""

    def __init__(self, config: SandboxConfig) -> None:
        self._rng = random.Random(f"{config.seed}:faults")
        self._script: deque[FaultAction] = deque()
        self.injected: Counter[str] = Counter()
        self._apply(config)

    def _apply(self, config: SandboxConfig) -> None:
        self.config = config
        self._latency = config.latency
        self._active = config.fault_total_rate > 0

    def configure(self, **changes: Any) -> SandboxConfig:
        """Change fault settings (names from FAULT_FIELDS); SandboxConfigError/ValueError if invalid."""
        unknown = set(changes) - set(FAULT_FIELDS)
        if unknown:
            raise ValueError(f"not fault settings: {sorted(unknown)}")
        self._apply(dataclasses.replace(self.config, **changes))
        return self.config

    def script(self, actions: Iterable[FaultAction | str]) -> None:
        """Force the next requests' faults, in order (ValueError on an unknown action)."""
        self._script.extend(FaultAction(a) for a in actions)

    @property
    def scripted(self) -> list[str]:
        return [str(a) for a in self._script]

    def next(self) -> tuple[float, FaultAction]:
        """(latency in ms, action) for one request."""
        latency = 0.0 if self._latency.is_zero else self._latency.sample(self._rng)
        if self._script:
            action = self._script.popleft()
        elif self._active:
            action = choose_action(self._rng.random(), self.config)
        else:
            return latency, FaultAction.NONE
        if action is not FaultAction.NONE:
            self.injected[action.value] += 1
        return latency, action

    def settings(self) -> dict[str, Any]:
        return {name: getattr(self.config, name) for name in FAULT_FIELDS}

    def reset(self) -> None:
        self._script.clear()
        self.injected.clear()
