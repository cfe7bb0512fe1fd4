"""`python -m streams worker`: the configuration checks and `--print-config` (no broker needed)."""

from __future__ import annotations

import pytest

from streams.cli import COMMANDS, main
from streams.settings import setting_fields

SECRETS = {
    "PAYMEND_API_TOKEN": "tok-very-secret-1",
    "WEBHOOK_TOKEN": "url-secret-2",
    "WEBHOOK_HMAC_SECRETS": "hmac-secret-3,hmac-secret-4",
    "KAFKA_SASL_PASSWORD": "sasl-secret-5",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for _, env, _, _ in setting_fields():
        monkeypatch.delenv(env, raising=False)


def test_worker_is_a_cli_command() -> None:
    assert COMMANDS["worker"][0] == "streams.worker"


def test_print_config_lists_every_setting_with_secrets_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WORKER_WEB_PORT", "7777")

    assert main(["worker", "--print-config"]) == 0

    out = capsys.readouterr().out
    for _, env, _, _ in setting_fields():
        assert f"\n{env}=" in f"\n{out}", env
    assert "WORKER_WEB_PORT=7777" in out
    assert "PAYMEND_API_TOKEN=********" in out
    assert "webhook HMAC keys configured: 2" in out
    for value in SECRETS.values():
        for part in value.split(","):
            assert part not in out


def test_print_config_needs_no_broker(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--print-config"]) == 0
    assert "KAFKA_BOOTSTRAP=\n" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"PAYMEND_API_TOKEN": "t"}, "KAFKA_BOOTSTRAP"),
        ({"KAFKA_BOOTSTRAP": "127.0.0.1:1"}, "PAYMEND_API_TOKEN"),
    ],
)
def test_required_settings_are_checked_before_connecting(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, env: dict[str, str], missing: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["worker"]) == 2
    assert missing in caplog.text


def test_a_malformed_setting_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WORKER_WEB_PORT", "not-a-port")
    assert main(["worker", "--print-config"]) == 2
    assert "WORKER_WEB_PORT" in caplog.text


@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_the_worker_logs_at_log_level_and_faust_debug_calls_build_no_records(level: str) -> None:
    import asyncio
    import logging

    from streams.app import create_app
    from streams.settings import Secret, Settings
    from streams.worker import make_worker

    settings = Settings(kafka_bootstrap="127.0.0.1:9", paymend_api_token=Secret("t"), log_level=level)
    loop = asyncio.new_event_loop()
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        worker = make_worker(create_app(settings).app, settings, loop)
        worker._setup_logging()  # what execute_from_commandline does first
        assert root.level == getattr(logging, level)
        assert not logging.getLogger("faust.topics").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("aiokafka.producer.producer").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        loop.close()
