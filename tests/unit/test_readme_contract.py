"""The README stays true: every setting and sandbox knob it must document, it documents."""

from pathlib import Path

import pytest

from streams.cli import COMMANDS
from streams.sandbox.config import config_fields, env_name
from streams.settings import setting_fields

README = (Path(__file__).parents[2] / "README.md").read_text()


@pytest.mark.parametrize("env", [env for _, env, _, _ in setting_fields()])
def test_every_service_setting_is_in_the_configuration_reference(env: str) -> None:
    assert f"| `{env}` |" in README


@pytest.mark.parametrize("name", [name for name, *_ in config_fields()])
def test_every_sandbox_setting_is_documented(name: str) -> None:
    assert f"`{env_name(name)}` / `--{name.replace('_', '-')}`" in README


def test_the_two_commands_are_shown() -> None:
    assert "make run" in README
    assert "make test" in README


def test_schema_files_named_in_the_readme_exist() -> None:
    json_dir = Path(__file__).parents[2] / "schemas" / "json"
    for record in ("DeclineEvent", "OrderCancelled", "PaymentSettledElsewhere", "PaymentStatusChanged"):
        assert (json_dir / f"paymend_streams.{record}.v1.schema.json").exists()
        assert f"`{record}` v1" in README


def test_every_cli_command_exists() -> None:
    assert {"sandbox", "broker", "topics", "run", "stop"} <= set(COMMANDS)
