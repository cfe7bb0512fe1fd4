"""`SandboxConfig`: every knob of the simulator, one frozen value object.

Each field carries its environment variable (`SANDBOX_<NAME>`) and its help text; `cli.py` turns
every field into a flag (`--<name-with-dashes>`). Precedence: flag, then environment, then the
default here. Durations are milliseconds everywhere (`*_ms`); rates are probabilities in [0, 1].
Where Paymend's docs are silent, the field's help says which choice the default makes.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from streams.sandbox.distributions import Distribution, parse_distribution

__all__ = ["ENV_PREFIX", "SandboxConfig", "SandboxConfigError", "config_fields"]

ENV_PREFIX: Final = "SANDBOX_"

WRONG_STATE_MODES: Final = ("error", "failed-transaction")
DUPLICATE_MODES: Final = ("return-existing", "conflict")


class SandboxConfigError(ValueError):
    """A sandbox setting is malformed or inconsistent."""


def _knob(doc: str, default: Any, *, secret: bool = False) -> Any:
    return field(default=default, repr=not secret, metadata={"doc": doc})


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """The simulator's configuration. Build it directly in tests, or with `from_env`."""

    # --- server ------------------------------------------------------------------------------
    host: str = _knob("Address to bind.", "127.0.0.1")
    port: int = _knob("Port to bind; 0 picks a free port (the URL is printed at start).", 0)
    token: str = _knob("The one accepted bearer token (secret; never printed).", "sandbox-token", secret=True)
    access_log: bool = _knob("Log every request (off: it costs throughput under load).", False)
    seed: int = _knob("Seed of every random choice: outcome mix, faults, webhook chaos.", 0)

    # --- API semantics where the docs are silent ---------------------------------------------
    wrong_state: str = _knob(
        "Capture/void/refund in a state that forbids it: `error` answers 409 INVALID_STATE; "
        "`failed-transaction` records a FAILED transaction, keeps the status and answers 200.",
        "error",
    )
    idempotent_replays: bool = _knob(
        "Capture on CAPTURED, void on VOIDED, refund on REFUNDED answer 200 with the payment unchanged "
        "instead of the wrong-state rule.",
        False,
    )
    duplicate_reference: str = _knob(
        "A create reusing a merchantReference: `return-existing` answers 200 with the existing payment "
        "(the body is not compared); `conflict` answers 409 DUPLICATE_MERCHANT_REFERENCE.",
        "return-existing",
    )
    legacy_failure_fields: bool = _knob(
        "Also emit the old top-level `failureCode`/`failureMessage` on FAILED payments.", False
    )
    decline_expired_cards: bool = _knob(
        "A card whose expiry month has passed is declined EXPIRED_CARD (54), whatever its number.", True
    )
    pending_requires_initiated_by: bool = _knob(
        "PENDING only when `source.initiatedBy` is sent (docs C8); without it a PENDING card resolves "
        "at once.",
        False,
    )

    # --- lifecycle ---------------------------------------------------------------------------
    pending_delay_ms: str = _knob(
        "Delay before a PENDING payment resolves (distribution spec).", "uniform:1000,3000"
    )
    recovery_window_ms: float = _knob(
        "Maximum recovery window: a payment still PENDING this long after creation becomes FAILED "
        "(RECOVERY_WINDOW_EXPIRED).",
        60_000.0,
    )
    mix_approve: float = _knob("Non-test cards: weight of an immediate approval.", 0.80)
    mix_decline: float = _knob("Non-test cards: weight of an immediate decline.", 0.10)
    mix_pending_approve: float = _knob("Non-test cards: weight of PENDING then approved.", 0.06)
    mix_pending_decline: float = _knob("Non-test cards: weight of PENDING then FAILED.", 0.04)

    # --- faults (API only; also changeable at run time via /_sandbox/faults) -------------------
    latency_ms: str = _knob("Added latency of every API answer (distribution spec).", "fixed:0")
    fault_error_rate: float = _knob("Probability of a 5xx answer, before any state change.", 0.0)
    fault_error_status: int = _knob("Status of an injected 5xx.", 503)
    fault_rate_limit_rate: float = _knob("Probability of a 429 with Retry-After.", 0.0)
    fault_retry_after_ms: float = _knob("Retry-After of an injected 429 (sent in whole seconds).", 1000.0)
    fault_drop_rate: float = _knob("Probability of closing the connection without an answer.", 0.0)
    fault_timeout_rate: float = _knob(
        "Probability of stalling for `fault_timeout_ms`, then closing without an answer or a state change.",
        0.0,
    )
    fault_timeout_ms: float = _knob(
        "Stall of the timeout fault; set it above the client's timeout.", 30_000.0
    )
    fault_commit_error_rate: float = _knob(
        "Probability of 'fail after commit': the state changes, but the answer is the 5xx.", 0.0
    )
    fault_commit_drop_rate: float = _knob(
        "Probability of 'drop after commit': the state changes, but the connection closes unanswered.", 0.0
    )

    # --- webhooks ----------------------------------------------------------------------------
    webhook_url: str = _knob("Where to POST webhook events; empty sends none.", "")
    webhook_token: str = _knob(
        "Secret appended to the URL as a query parameter (empty: none).", "", secret=True
    )
    webhook_token_param: str = _knob("Name of that query parameter.", "token")
    webhook_hmac_secret: str = _knob(
        "HMAC-SHA256 key of a signature header (empty: unsigned; Paymend documents no signature).",
        "",
        secret=True,
    )
    webhook_signature_header: str = _knob(
        "Header of the signature: `t=<unix>,v1=<hex>`.", "Paymend-Signature"
    )
    webhook_ack_timeout_ms: float = _knob(
        "A reply slower than this is a failed attempt (docs: 500 ms).", 500.0
    )
    webhook_max_attempts: int = _knob("Attempts per event before giving up.", 6)
    webhook_backoff_base_ms: float = _knob("First redelivery delay; doubles per attempt, jittered.", 500.0)
    webhook_backoff_max_ms: float = _knob("Cap of one redelivery delay.", 30_000.0)
    webhook_concurrency: int = _knob("Deliveries in flight at most.", 32)
    webhook_duplicate_rate: float = _knob("Probability of delivering an event a second time.", 0.0)
    webhook_reorder_rate: float = _knob(
        "Probability of holding an event back so that later ones overtake it.", 0.0
    )
    webhook_reorder_hold_ms: float = _knob(
        "How long a held-back event waits before its first attempt.", 1000.0
    )

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SandboxConfigError("SANDBOX_PORT must be within 0..65535")
        if not self.token:
            raise SandboxConfigError("SANDBOX_TOKEN must not be empty")
        if self.wrong_state not in WRONG_STATE_MODES:
            raise SandboxConfigError(f"SANDBOX_WRONG_STATE must be one of {WRONG_STATE_MODES}")
        if self.duplicate_reference not in DUPLICATE_MODES:
            raise SandboxConfigError(f"SANDBOX_DUPLICATE_REFERENCE must be one of {DUPLICATE_MODES}")
        for name in ("pending_delay_ms", "latency_ms"):
            try:
                parse_distribution(getattr(self, name))
            except ValueError as exc:
                raise SandboxConfigError(f"{env_name(name)}: {exc}") from None
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_rate") and not 0.0 <= value <= 1.0:
                raise SandboxConfigError(f"{env_name(f.name)} must be within 0..1")
            if (
                (f.name.endswith("_ms") or f.name.startswith("mix_"))
                and isinstance(value, float)
                and value < 0
            ):
                raise SandboxConfigError(f"{env_name(f.name)} must not be negative")
        if self.fault_total_rate > 1.0:
            raise SandboxConfigError("the fault rates must add up to at most 1")
        if self.mix_approve + self.mix_decline + self.mix_pending_approve + self.mix_pending_decline <= 0:
            raise SandboxConfigError("at least one SANDBOX_MIX_* weight must be positive")
        if self.recovery_window_ms <= 0:
            raise SandboxConfigError("SANDBOX_RECOVERY_WINDOW_MS must be positive")
        if self.webhook_max_attempts < 1 or self.webhook_concurrency < 1:
            raise SandboxConfigError("SANDBOX_WEBHOOK_MAX_ATTEMPTS and _CONCURRENCY must be at least 1")
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise SandboxConfigError("SANDBOX_WEBHOOK_URL must be an http:// or https:// URL")
        if not 500 <= self.fault_error_status <= 599:
            raise SandboxConfigError("SANDBOX_FAULT_ERROR_STATUS must be a 5xx status")

    @property
    def fault_total_rate(self) -> float:
        return float(sum(getattr(self, name) for name in FAULT_RATE_FIELDS))

    @property
    def pending_delay(self) -> Distribution:
        return parse_distribution(self.pending_delay_ms)

    @property
    def latency(self) -> Distribution:
        return parse_distribution(self.latency_ms)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> SandboxConfig:
        """Read `SANDBOX_*` variables; `overrides` (e.g. CLI flags) win over the environment."""
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(env_name(f.name))
            if f.name not in overrides and raw is not None:
                values[f.name] = parse_value(env_name(f.name), raw, hints[f.name])
        values.update(overrides)
        try:
            return cls(**values)
        except TypeError as exc:
            raise SandboxConfigError(str(exc)) from None


#: The rates of the mutually exclusive per-request faults (their sum is at most 1).
FAULT_RATE_FIELDS: Final = (
    "fault_error_rate",
    "fault_rate_limit_rate",
    "fault_drop_rate",
    "fault_timeout_rate",
    "fault_commit_error_rate",
    "fault_commit_drop_rate",
)


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def config_fields() -> list[tuple[str, type, Any, str]]:
    """(field name, type, default, help) for every setting, in declaration order."""
    hints = typing.get_type_hints(SandboxConfig)
    return [(f.name, hints[f.name], f.default, f.metadata["doc"]) for f in dataclasses.fields(SandboxConfig)]


_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def parse_value(name: str, raw: str, hint: Any) -> Any:
    """Parse one textual value (environment or JSON string) to the field's type."""
    try:
        if hint is bool:
            low = raw.strip().lower()
            if low in _TRUE | _FALSE:
                return low in _TRUE
            raise ValueError("expected true or false")
        if hint is int:
            return int(raw)
        if hint is float:
            return float(raw)
        return raw
    except ValueError as exc:
        raise SandboxConfigError(f"{name}: {exc}") from None
