"""Sandbox webhook backoff and signatures, and the fault draw (pure parts)."""

import dataclasses

import pytest

from streams.sandbox.config import FAULT_RATE_FIELDS, SandboxConfig, SandboxConfigError
from streams.sandbox.faults import FaultAction, FaultInjector, choose_action
from streams.sandbox.webhooks import backoff_ms, signature_header, verify_signature


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter() -> None:
    assert [backoff_ms(n, 100, 1000, 0.0) for n in range(1, 6)] == [50, 100, 200, 400, 500]
    assert [backoff_ms(n, 100, 1000, 0.999999) for n in (1, 2)] == pytest.approx([100, 200], rel=1e-5)
    assert backoff_ms(30, 100, 1000, 0.5) == 750


def test_signature_round_trip() -> None:
    body = b'{"eventId":"evt_1"}'
    header = signature_header("s3cret", 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert len(header.split("v1=")[1]) == 64
    assert verify_signature("s3cret", header, body, now=1_700_000_010)
    assert not verify_signature("other", header, body, now=1_700_000_010)
    assert not verify_signature("s3cret", header, body + b" ", now=1_700_000_010)
    assert not verify_signature("s3cret", header, body, now=1_700_001_000)
    assert not verify_signature("s3cret", "garbage", body, now=1_700_000_000)


def test_fault_rates_map_to_actions_in_order() -> None:
    config = SandboxConfig(**dict.fromkeys(FAULT_RATE_FIELDS, 0.1))
    draws = [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65]
    assert [choose_action(d, config) for d in draws] == [
        FaultAction.ERROR,
        FaultAction.RATE_LIMIT,
        FaultAction.DROP,
        FaultAction.TIMEOUT,
        FaultAction.COMMIT_ERROR,
        FaultAction.COMMIT_DROP,
        FaultAction.NONE,
    ]
    assert [a.after_commit for a in (FaultAction.COMMIT_DROP, FaultAction.DROP)] == [True, False]


def test_injector_is_seeded_scriptable_and_reconfigurable() -> None:
    config = SandboxConfig(fault_error_rate=0.3, latency_ms="uniform:1,9", seed=11)
    runs = [
        [injector.next() for _ in range(50)] for injector in (FaultInjector(config), FaultInjector(config))
    ]
    assert runs[0] == runs[1]
    assert all(1 <= latency <= 9 for latency, _ in runs[0])
    assert 5 < sum(action is FaultAction.ERROR for _, action in runs[0]) < 25

    injector = FaultInjector(dataclasses.replace(config, fault_error_rate=0.0))
    injector.script(["commit-error", "none", FaultAction.DROP])
    assert [injector.next()[1] for _ in range(4)] == [
        FaultAction.COMMIT_ERROR,
        FaultAction.NONE,
        FaultAction.DROP,
        FaultAction.NONE,
    ]
    assert dict(injector.injected) == {"commit-error": 1, "drop": 1}
    with pytest.raises(ValueError, match="explode"):
        injector.script(["explode"])
    injector.configure(fault_rate_limit_rate=1.0, latency_ms="fixed:0")
    assert injector.next() == (0.0, FaultAction.RATE_LIMIT)
    with pytest.raises(ValueError, match="not fault settings"):
        injector.configure(token="x")
    with pytest.raises(SandboxConfigError):
        injector.configure(fault_drop_rate=0.5)  # the sum would exceed 1
