"""Sandbox settings: environment and flags, validation, secrets, delay distributions."""

import argparse
import math
import random

import pytest

from streams.sandbox.cli import add_arguments, config_from_args
from streams.sandbox.config import SandboxConfig, SandboxConfigError, config_fields
from streams.sandbox.distributions import parse_distribution


def test_defaults_are_valid_and_documented() -> None:
    config = SandboxConfig()
    assert (config.host, config.port, config.wrong_state) == ("127.0.0.1", 0, "error")
    for name, _, _, doc in config_fields():
        assert doc, name


def test_environment_is_parsed_by_type() -> None:
    config = SandboxConfig.from_env(
        {
            "SANDBOX_PORT": "8099",
            "SANDBOX_FAULT_ERROR_RATE": "0.25",
            "SANDBOX_LEGACY_FAILURE_FIELDS": "yes",
            "SANDBOX_WEBHOOK_URL": "http://127.0.0.1:9/hook",
            "SANDBOX_WRONG_STATE": "failed-transaction",
            "UNRELATED": "x",
        },
        seed=5,
    )
    assert config.port == 8099
    assert config.fault_error_rate == 0.25
    assert config.legacy_failure_fields
    assert config.webhook_url == "http://127.0.0.1:9/hook"
    assert config.seed == 5
    assert config.wrong_state == "failed-transaction"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SANDBOX_PORT": "x"}, "SANDBOX_PORT"),
        ({"SANDBOX_PORT": "70000"}, "SANDBOX_PORT"),
        ({"SANDBOX_FAULT_DROP_RATE": "1.5"}, "SANDBOX_FAULT_DROP_RATE"),
        ({"SANDBOX_FAULT_DROP_RATE": "0.6", "SANDBOX_FAULT_ERROR_RATE": "0.6"}, "add up"),
        ({"SANDBOX_WRONG_STATE": "explode"}, "SANDBOX_WRONG_STATE"),
        ({"SANDBOX_DUPLICATE_REFERENCE": "maybe"}, "SANDBOX_DUPLICATE_REFERENCE"),
        ({"SANDBOX_LATENCY_MS": "gaussian:1"}, "SANDBOX_LATENCY_MS"),
        ({"SANDBOX_ACCESS_LOG": "perhaps"}, "SANDBOX_ACCESS_LOG"),
        ({"SANDBOX_TOKEN": ""}, "SANDBOX_TOKEN"),
        ({"SANDBOX_FAULT_ERROR_STATUS": "404"}, "SANDBOX_FAULT_ERROR_STATUS"),
        ({"SANDBOX_WEBHOOK_URL": "localhost:9000/hooks"}, "SANDBOX_WEBHOOK_URL"),
        (
            {
                "SANDBOX_MIX_APPROVE": "0",
                "SANDBOX_MIX_DECLINE": "0",
                "SANDBOX_MIX_PENDING_APPROVE": "0",
                "SANDBOX_MIX_PENDING_DECLINE": "0",
            },
            "SANDBOX_MIX",
        ),
    ],
)
def test_invalid_settings_name_their_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SandboxConfigError, match=message):
        SandboxConfig.from_env(env)


def test_secrets_stay_out_of_the_repr() -> None:
    text = repr(SandboxConfig(token="tok-123", webhook_token="wh-456", webhook_hmac_secret="hm-789"))
    assert "tok-123" not in text
    assert "wh-456" not in text
    assert "hm-789" not in text


def test_every_field_is_a_flag_and_flags_win_over_the_environment() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--port",
            "9001",
            "--no-decline-expired-cards",
            "--fault-error-rate",
            "0.1",
            "--latency-ms",
            "fixed:5",
        ]
    )
    config = config_from_args(args, {"SANDBOX_PORT": "9002", "SANDBOX_TOKEN": "from-env"})
    assert config.port == 9001
    assert config.token == "from-env"
    assert config.decline_expired_cards is False
    assert config.fault_error_rate == 0.1
    assert config.latency_ms == "fixed:5"
    flags = {a.dest for a in parser._actions}
    assert {name for name, *_ in config_fields()} <= flags


@pytest.mark.parametrize(
    ("spec", "low", "high"),
    [("fixed:0", 0, 0), ("fixed:25", 25, 25), ("uniform:10,20", 10, 20), ("lognormal:20,0.5,50", 0, 50)],
)
def test_distributions_sample_within_their_bounds(spec: str, low: float, high: float) -> None:
    distribution = parse_distribution(spec)
    rng = random.Random(1)
    samples = [distribution.sample(rng) for _ in range(500)]
    assert all(low <= s <= high for s in samples)
    assert parse_distribution(str(distribution)) == distribution


def test_lognormal_median_is_its_first_parameter() -> None:
    distribution = parse_distribution("lognormal:40,0.3")
    rng = random.Random(2)
    samples = sorted(distribution.sample(rng) for _ in range(2001))
    assert 36 < samples[1000] < 44
    assert math.isinf(distribution.cap)
    assert parse_distribution("fixed:0").is_zero
    assert not parse_distribution("fixed:1").is_zero


@pytest.mark.parametrize(
    "spec", ["", "fixed", "fixed:-1", "fixed:a", "uniform:5", "uniform:9,1", "lognormal:0,1", "normal:1,2"]
)
def test_invalid_distributions(spec: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_distribution(spec)
