"""Settings: parsing from the environment, validation, and secrets that never print."""

import pytest

from streams.settings import PAYMEND_PRESETS, ConfigurationError, Secret, Settings, setting_fields


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.topic_partitions == 8
    assert settings.paymend_url == PAYMEND_PRESETS["sandbox"]
    assert settings.kafka_embedded is False


def test_environment_values_are_parsed_by_type() -> None:
    settings = Settings.from_env(
        {
            "TOPIC_PARTITIONS": "12",
            "PAYMEND_READ_TIMEOUT_S": "2.5",
            "KAFKA_EMBEDDED": "yes",
            "PAYMEND_API_TOKEN": "tok_live_123",
            "PAYMEND_ENVIRONMENT": "production",
        }
    )
    assert settings.topic_partitions == 12
    assert settings.paymend_read_timeout_s == 2.5
    assert settings.kafka_embedded is True
    assert settings.require_paymend_token().reveal() == "tok_live_123"
    assert settings.paymend_url == "https://prod-api.paymend.com"


def test_base_url_overrides_the_preset() -> None:
    settings = Settings.from_env({"PAYMEND_BASE_URL": "http://127.0.0.1:8080/"})
    assert settings.paymend_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("TOPIC_PARTITIONS", "0", "TOPIC_PARTITIONS must be at least 1"),
        ("TOPIC_PARTITIONS", "eight", "TOPIC_PARTITIONS"),
        ("KAFKA_EMBEDDED", "maybe", "KAFKA_EMBEDDED: expected true or false"),
        ("PAYMEND_ENVIRONMENT", "staging", "PAYMEND_ENVIRONMENT='staging'"),
        ("WORKER_STORE", "redis://", "WORKER_STORE"),
    ],
)
def test_bad_values_name_the_variable(env: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({env: value})


def test_missing_required_values_are_named() -> None:
    settings = Settings.from_env({})
    with pytest.raises(ConfigurationError, match="PAYMEND_API_TOKEN"):
        settings.require_paymend_token()
    with pytest.raises(ConfigurationError, match="KAFKA_BOOTSTRAP"):
        settings.require_kafka_bootstrap()


def test_secrets_never_print() -> None:
    settings = Settings.from_env(
        {"PAYMEND_API_TOKEN": "tok_SECRET_value", "KAFKA_SASL_PASSWORD": "pw_SECRET"}
    )
    rendered = repr(settings) + str(settings) + f"{settings.paymend_api_token}"
    assert "SECRET" not in rendered
    assert repr(Secret("x")) == "Secret('********')"


def test_every_setting_has_a_distinct_documented_variable() -> None:
    envs = [env for _, env, doc, _ in setting_fields() if doc]
    assert len(envs) == len(setting_fields())
    assert len(set(envs)) == len(envs)
    faust_own = {"WEB_PORT", "WEB_HOST", "BROKER_URL", "APP_STORE", "STORE", "DATADIR", "WORKDIR"}
    assert not faust_own & set(envs)
