"""Client configuration: embedded vs real Kafka, security mapping, and secrets that never print."""

from __future__ import annotations

import logging
import pprint
import re
from typing import Any

import certifi
import faust
import pytest
from faust.auth import SASLCredentials, SSLCredentials
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from streams.broker.client_config import EMBEDDED_FAUST_OPTIONS, confluent_config, faust_broker_options
from streams.settings import ConfigurationError, Secret, Settings

PASSWORD = "hunter2-sasl-Pa55w0rd"
TANSU_ONLY = {
    "broker_session_timeout",
    "broker_heartbeat_interval",
    "broker_rebalance_timeout",
}


def sasl_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap": "kafka-0.example:9093,kafka-1.example:9093",
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": "SCRAM-SHA-512",
        "kafka_sasl_username": "paymend-streams",
        "kafka_sasl_password": Secret(PASSWORD),
        "kafka_ssl_cafile": certifi.where(),
    }
    return Settings(**{**values, **overrides})


# --- embedded vs real Kafka --------------------------------------------------------------------


def test_embedded_broker_gets_the_tansu_settings() -> None:
    options = faust_broker_options(Settings(kafka_bootstrap="127.0.0.1:9092", kafka_embedded=True))

    assert options["broker"] == ["kafka://127.0.0.1:9092"]
    assert {k: options[k] for k in EMBEDDED_FAUST_OPTIONS} == {
        "broker_session_timeout": 2.0,
        "broker_heartbeat_interval": 0.3,
        "broker_rebalance_timeout": 2.0,
        "topic_replication_factor": 1,
    }
    assert "broker_credentials" not in options


def test_real_kafka_keeps_faust_defaults_and_the_configured_replication() -> None:
    options = faust_broker_options(Settings(kafka_bootstrap="k0:9092, k1:9092", topic_replication_factor=3))

    assert options["broker"] == ["kafka://k0:9092", "kafka://k1:9092"]
    assert TANSU_ONLY.isdisjoint(options)
    assert options["topic_replication_factor"] == 3


def test_faust_accepts_the_options() -> None:
    settings = Settings(kafka_bootstrap="k0:9092,k1:9092", kafka_embedded=True)
    app = faust.App("test-client-config", **faust_broker_options(settings))

    assert [str(u) for u in app.conf.broker] == ["kafka://k0:9092", "kafka://k1:9092"]
    assert app.conf.broker_session_timeout == 2.0
    assert app.conf.topic_replication_factor == 1


def test_confluent_config_plaintext_and_the_producer_partitioner() -> None:
    settings = Settings(kafka_bootstrap="k0:9092")

    assert confluent_config(settings) == {"bootstrap.servers": "k0:9092", "security.protocol": "PLAINTEXT"}
    assert confluent_config(settings, producer=True)["partitioner"] == "murmur2_random"


def test_bootstrap_is_required() -> None:
    with pytest.raises(ConfigurationError, match="KAFKA_BOOTSTRAP"):
        confluent_config(Settings())
    with pytest.raises(ConfigurationError, match="KAFKA_BOOTSTRAP"):
        faust_broker_options(Settings())


# --- security ----------------------------------------------------------------------------------


def test_sasl_ssl_maps_onto_librdkafka() -> None:
    config = confluent_config(sasl_settings())

    assert config == {
        "bootstrap.servers": "kafka-0.example:9093,kafka-1.example:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "paymend-streams",
        "sasl.password": PASSWORD,
        "ssl.ca.location": certifi.where(),
    }


def test_sasl_ssl_maps_onto_faust_and_aiokafka() -> None:
    credentials = faust_broker_options(sasl_settings())["broker_credentials"]

    assert isinstance(credentials, SASLCredentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert auth["sasl_plain_username"] == "paymend-streams"
    assert auth["sasl_plain_password"] == PASSWORD
    assert auth["ssl_context"] is not None


def test_sasl_plaintext_has_no_tls() -> None:
    settings = sasl_settings(kafka_security_protocol="sasl_plaintext", kafka_sasl_mechanism="PLAIN")

    config = confluent_config(settings)
    auth = credentials_to_aiokafka_auth(faust_broker_options(settings)["broker_credentials"])

    assert config["security.protocol"] == "SASL_PLAINTEXT"
    assert "ssl.ca.location" not in config
    assert auth["security_protocol"] == "SASL_PLAINTEXT"
    assert auth["sasl_mechanism"] == "PLAIN"
    assert auth["ssl_context"] is None


def test_ssl_without_sasl() -> None:
    settings = Settings(kafka_bootstrap="k0:9093", kafka_security_protocol="SSL")

    credentials = faust_broker_options(settings)["broker_credentials"]

    assert isinstance(credentials, SSLCredentials)
    assert credentials_to_aiokafka_auth(credentials)["security_protocol"] == "SSL"
    assert confluent_config(settings) == {"bootstrap.servers": "k0:9093", "security.protocol": "SSL"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kafka_security_protocol": "TLS"}, "KAFKA_SECURITY_PROTOCOL='TLS'"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "KAFKA_SASL_MECHANISM='GSSAPI'"),
        ({"kafka_sasl_username": ""}, "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
        ({"kafka_sasl_password": None}, "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
    ],
)
def test_bad_security_settings_name_the_variable(overrides: dict[str, Any], message: str) -> None:
    settings = sasl_settings(**overrides)
    with pytest.raises(ConfigurationError, match=message):
        confluent_config(settings)
    with pytest.raises(ConfigurationError, match=message):
        faust_broker_options(settings)


def test_unreadable_ca_file_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match=re.escape("KAFKA_SSL_CAFILE='/nonexistent/ca.pem'")):
        faust_broker_options(sasl_settings(kafka_ssl_cafile="/nonexistent/ca.pem"))


# --- secrets -----------------------------------------------------------------------------------


def test_no_secret_in_any_repr_or_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = sasl_settings()

    config = confluent_config(settings, producer=True)
    options = faust_broker_options(settings)
    logging.getLogger("test").info("config %s options %r", config, options)

    assert config["sasl.password"] == PASSWORD  # the client still gets it
    renderings = [
        repr(config),
        str(config),
        f"{config}",
        pprint.pformat(config),
        repr(options),
        str(options),
        repr(options["broker_credentials"]),
        repr(settings),
        caplog.text,
    ]
    leaks = [text for text in renderings if PASSWORD in text]
    assert leaks == []
    assert "********" in repr(config)
    assert "paymend-streams" in repr(options["broker_credentials"])  # the user name may show


def test_a_group_instance_id_makes_the_worker_a_static_member() -> None:
    static = Settings.from_env(
        {"KAFKA_BOOTSTRAP": "kafka:9092", "KAFKA_GROUP_INSTANCE_ID": "paymend-streams-2"}
    )
    assert faust_broker_options(static)["consumer_group_instance_id"] == "paymend-streams-2"
    dynamic = Settings.from_env({"KAFKA_BOOTSTRAP": "kafka:9092"})
    assert "consumer_group_instance_id" not in faust_broker_options(dynamic)
