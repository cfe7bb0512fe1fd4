"""deploy/Dockerfile, .dockerignore, deploy/compose.yaml and deploy/example.env, read as files.

hadolint lints the Dockerfile (missing hadolint fails the test with the install hint). The image
installs the project with the locked versions (`-c constraints.txt`) and none of the `local` or
`dev` extras, runs as uid 10001 (the Helm chart's), and keeps secrets out. The compose file gives
the worker only real settings. Nothing here needs Docker.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.settings import Settings, setting_fields
from tests.deploy.tools import REPO, tool

DOCKERFILE = REPO / "deploy" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = REPO / "deploy" / "compose.yaml"
EXAMPLE_ENV = REPO / "deploy" / "example.env"
HELM_VALUES = REPO / "helm" / "paymend-streams" / "values.yaml"
UID = 10001
SETTING_VARIABLES = {env for _, env, _, _ in setting_fields()}
SECRET_VARIABLES = {"PAYMEND_API_TOKEN", "WEBHOOK_TOKEN", "WEBHOOK_HMAC_SECRETS", "KAFKA_SASL_PASSWORD"}


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction: continuations joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


INSTRUCTIONS = instructions(DOCKERFILE.read_text())


def shell_commands(args: str) -> list[list[str]]:
    """The commands of a shell-form RUN, split at && ; |."""
    return [shlex.split(part) for part in re.split(r"&&|;|\|\|?", args) if part.strip()]


def pip_commands(subcommand: str) -> list[list[str]]:
    found = []
    for keyword, args in INSTRUCTIONS:
        if keyword != "RUN":
            continue
        for command in shell_commands(args):
            if any(word.endswith("pip") for word in command[:1]) and subcommand in command[1:2]:
                found.append(command)
    return found


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"not KEY=value: {line!r}"
            env[key.strip()] = value.strip()
    return env


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


# --- Dockerfile ---------------------------------------------------------------------------------


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_parser_reads_continuations() -> None:
    text = '# c\nFROM x AS b\nRUN a \\\n    && b\n\nCMD ["w"]\n'
    assert instructions(text) == [("FROM", "x AS b"), ("RUN", "a && b"), ("CMD", '["w"]')]


def test_multi_stage_on_python_3_11_slim() -> None:
    args = dict(re.findall(r"(\w+)=(\S+)", " ".join(a for k, a in INSTRUCTIONS if k == "ARG")))
    bases = [args.get(a.split()[0].strip("${}"), a.split()[0]) for k, a in INSTRUCTIONS if k == "FROM"]
    assert len(bases) >= 2, "a build stage and a runtime stage"
    assert all(base.startswith("python:3.11-slim") for base in bases), bases
    assert any("--from=" in a for k, a in INSTRUCTIONS if k == "COPY"), "the runtime copies from the build"


def test_the_project_is_built_as_a_wheel_and_installed_with_the_constraints_only() -> None:
    [wheel] = [c for c in pip_commands("wheel") if "." in c]
    assert "--no-deps" in wheel
    installs = pip_commands("install")
    project = [c for c in installs if any("paymend_streams" in word for word in c)]
    assert project, f"no pip install of the project's wheel in {installs}"
    for command in project:
        assert "-c" in command, command
        assert command[command.index("-c") + 1] == "constraints.txt", command
        assert command[-1].endswith(".whl")
    for command in installs:
        for word in command:
            assert "[" not in word, f"extras installed: {command}"
            assert not re.search(r"\b(local|dev)\b", word), f"local/dev extra in {command}"
            assert word not in {"-e", "--editable", "-r", "--requirement"}, command
    copied = " ".join(a for k, a in INSTRUCTIONS if k == "COPY" and "--from" not in a)
    assert "constraints.txt" in copied


def test_the_image_runs_as_uid_10001_like_the_chart() -> None:
    users = [a for k, a in INSTRUCTIONS if k == "USER"]
    assert users, "no USER: the image would run as root"
    assert users[-1] in {f"{UID}", f"{UID}:{UID}"}, users[-1]
    run = " ".join(a for k, a in INSTRUCTIONS if k == "RUN")
    assert re.search(rf"useradd\b.*--uid {UID}\b", run)
    assert re.search(rf"groupadd\b.*--gid {UID}\b", run)
    chart = re.findall(r"\b(?:runAsUser|runAsGroup|fsGroup): (\d+)", HELM_VALUES.read_text())
    assert chart, f"no securityContext ids in {HELM_VALUES}"
    assert {int(v) for v in chart} == {UID}, chart


def test_entrypoint_command_and_port() -> None:
    last = {k: a for k, a in INSTRUCTIONS}
    assert last["ENTRYPOINT"] == '["python", "-m", "streams"]'
    assert last["CMD"] == '["worker"]'
    assert last["EXPOSE"] == "6066"
    env = " ".join(a for k, a in INSTRUCTIONS if k == "ENV")
    assert "WORKER_DATA_DIR=/var/lib/paymend-streams" in env  # the chart's workload.dataDir


def test_no_secrets_in_the_image() -> None:
    for keyword, args in INSTRUCTIONS:
        if keyword in {"ENV", "ARG", "LABEL"}:
            for name in re.findall(r"(\w+)=", args):
                assert name not in SECRET_VARIABLES, name
                assert not re.search(r"TOKEN|SECRET|PASSWORD|KEY", name), name
    assert not any(k == "COPY" and ".env" in a for k, a in INSTRUCTIONS)


def test_dockerignore_lets_in_only_what_the_build_copies() -> None:
    lines = [line for line in DOCKERIGNORE.read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*", "exclude everything, then allow"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    sources = {
        word.rstrip("/").removeprefix("./")
        for k, a in INSTRUCTIONS
        if k == "COPY" and "--from" not in a
        for word in a.split()[:-1]
    }
    assert sources == allowed, f"COPY sources {sources} vs .dockerignore {allowed}"


# --- compose and example.env --------------------------------------------------------------------


def test_example_env_holds_only_settings_and_builds_valid_settings() -> None:
    env = read_env_file(EXAMPLE_ENV)
    assert set(env) <= SETTING_VARIABLES, set(env) - SETTING_VARIABLES
    settings = Settings.from_env(env)
    assert settings.require_kafka_bootstrap() == "kafka:9092"
    assert not settings.kafka_embedded
    assert settings.topic_replication_factor == 1  # one broker
    settings.require_paymend_token()


def test_example_env_secrets_are_placeholders() -> None:
    env = read_env_file(EXAMPLE_ENV)
    for name in SECRET_VARIABLES & set(env):
        assert env[name].startswith("change-me"), f"{name} must be a placeholder"


def test_compose_runs_kraft_kafka_sandbox_worker_and_demo() -> None:
    services = compose()["services"]
    assert {"kafka", "sandbox", "worker", "demo"} <= set(services)
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert services["demo"]["profiles"] == ["demo"]
    for name in ("sandbox", "worker", "demo"):
        assert services[name]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert services["worker"]["command"] == ["worker"]
    assert services["worker"]["depends_on"]["kafka"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", ["worker", "demo"])
def test_the_worker_environment_is_made_of_real_settings(service: str) -> None:
    spec = compose()["services"][service]
    variables = set(spec.get("environment", {}))
    for env_file in spec.get("env_file", []):
        variables |= set(read_env_file(COMPOSE.parent / env_file))
    assert variables, "the worker gets its settings from example.env"
    assert variables <= SETTING_VARIABLES, variables - SETTING_VARIABLES


def test_the_sandbox_posts_webhooks_to_the_worker_with_its_secrets() -> None:
    sandbox = compose()["services"]["sandbox"]
    env = read_env_file(EXAMPLE_ENV)
    settings = Settings.from_env(env)
    url = f"http://worker:{settings.worker_web_port}{settings.webhook_path}"
    assert f"--webhook-url={url}" in sandbox["command"]
    assert "--port=8080" in sandbox["command"]
    assert settings.paymend_url == "http://sandbox:8080"
    interpolated = {
        key: re.fullmatch(r"\$\{(\w+)(?::\?[^}]*)?\}", value) for key, value in sandbox["environment"].items()
    }
    assert all(interpolated.values()), sandbox["environment"]
    sources = {key: m[1] for key, m in interpolated.items() if m}
    assert sources == {
        "SANDBOX_TOKEN": "PAYMEND_API_TOKEN",
        "SANDBOX_WEBHOOK_TOKEN": "WEBHOOK_TOKEN",
        "SANDBOX_WEBHOOK_HMAC_SECRET": "WEBHOOK_HMAC_SECRETS",
    }
    assert set(sources.values()) <= set(env)
