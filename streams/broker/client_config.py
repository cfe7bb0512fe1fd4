"""`Settings` mapped onto Kafka client configuration: confluent-kafka dicts and faust `App` options.

This module owns every Kafka client knob the service sets, in two functions:

- `confluent_config(settings, producer=...)`: a librdkafka config for `AdminClient`, `Producer` or
  `Consumer` (topic administration, load generators, test helpers).
- `faust_broker_options(settings)`: keyword arguments for `faust.App(...)`.

Both return a `ClientConfig`, a plain `dict` whose repr masks credentials, so logging or printing
a config never shows the SASL password. Only the embedded broker (`KAFKA_EMBEDDED=true`, Tansu)
gets the Tansu-only tuning; against a real Kafka, faust keeps its defaults.
"""

from __future__ import annotations

import ssl
from typing import Any, Final

from streams.settings import ConfigurationError, Settings

__all__ = [
    "EMBEDDED_FAUST_OPTIONS",
    "ClientConfig",
    "confluent_config",
    "faust_broker_options",
]

SECURITY_PROTOCOLS: Final = frozenset({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"})
SASL_MECHANISMS: Final = frozenset({"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"})
_SECRET_KEYS: Final = frozenset({"sasl.password", "ssl.key.password", "ssl.key.pem"})

#: faust settings applied only on the embedded Tansu broker (docs/RESEARCH §1):
#:
#: - `broker_session_timeout=2.0`, `broker_heartbeat_interval=0.3`,
#:   `broker_rebalance_timeout=2.0`: Tansu forms a consumer group after half the session timeout;
#:   faust's 60 s default means 30 s before the first event, 2 s means ~3.4 s. Not below ~1 s.
#: Tansu's ListOffsets(latest) under-reports the end offset after a multi-record batch; the worker
#: consumer corrects it with a fetch (`streams.broker.worker_consumer`), so the producer batches as
#: on a real Kafka (it used to be held to one record per batch here).
#: - `topic_replication_factor=1`: there is a single broker.
EMBEDDED_FAUST_OPTIONS: Final[dict[str, Any]] = {
    "broker_session_timeout": 2.0,
    "broker_heartbeat_interval": 0.3,
    "broker_rebalance_timeout": 2.0,
    "topic_replication_factor": 1,
}


class ClientConfig(dict[str, Any]):
    """A client config dict whose repr and str mask secrets (the SASL password, credentials)."""

    def __repr__(self) -> str:
        shown = {k: "********" if k in _SECRET_KEYS else v for k, v in self.items()}
        return f"ClientConfig({shown!r})"


def confluent_config(settings: Settings, *, producer: bool = False) -> ClientConfig:
    """librdkafka configuration for confluent-kafka clients.

    - `bootstrap.servers`: `KAFKA_BOOTSTRAP` (required).
    - `security.protocol`: `KAFKA_SECURITY_PROTOCOL`; with SASL also `sasl.mechanism`,
      `sasl.username`, `sasl.password`; with SSL and `KAFKA_SSL_CAFILE` also `ssl.ca.location`.
    - `producer=True` adds `partitioner: murmur2_random`: librdkafka's default (CRC32) puts keys on
      other partitions than faust (aiokafka) and Java clients, which use murmur2; a record would
      then miss its table partition (co-partitioning). Pass it for every `Producer`.
    """
    protocol = _protocol(settings)
    config = ClientConfig(
        {"bootstrap.servers": settings.require_kafka_bootstrap(), "security.protocol": protocol}
    )
    if protocol.startswith("SASL_"):
        mechanism, username, password = _sasl(settings)
        config.update({"sasl.mechanism": mechanism, "sasl.username": username, "sasl.password": password})
    if protocol.endswith("SSL") and settings.kafka_ssl_cafile:
        config["ssl.ca.location"] = settings.kafka_ssl_cafile
    if producer:
        config["partitioner"] = "murmur2_random"
    return config


def faust_broker_options(settings: Settings) -> ClientConfig:
    """Keyword arguments for `faust.App(...)` that concern the broker.

    - `broker`: one `kafka://host:port` URL per `KAFKA_BOOTSTRAP` entry.
    - `broker_credentials` (SSL/SASL only): `faust.auth.SSLCredentials` or `SASLCredentials`,
      with a TLS context that trusts `KAFKA_SSL_CAFILE` (else the system store). faust's repr of
      these shows the user name only.
    - `topic_replication_factor`: `TOPIC_REPLICATION_FACTOR`, for the changelog and repartition
      topics faust creates (faust's own default is 1).
    - Embedded broker only: `EMBEDDED_FAUST_OPTIONS` (short group timeouts,
      replication 1); never against a real Kafka.

    - `consumer_group_instance_id` (when `KAFKA_GROUP_INSTANCE_ID` is set): static membership.

    faust's own partitioner is murmur2 already, matching `confluent_config(producer=True)`.
    faust is imported here, not at module level, so that confluent-only callers stay light.
    """
    from faust.auth import SASLCredentials, SSLCredentials

    hosts = [h.strip() for h in settings.require_kafka_bootstrap().split(",") if h.strip()]
    options = ClientConfig(
        broker=[f"kafka://{h}" for h in hosts], topic_replication_factor=settings.topic_replication_factor
    )
    protocol = _protocol(settings)
    context = _ssl_context(settings) if protocol.endswith("SSL") else None
    if protocol.startswith("SASL_"):
        mechanism, username, password = _sasl(settings)
        options["broker_credentials"] = SASLCredentials(
            username=username, password=password, mechanism=mechanism, ssl_context=context
        )
    elif context is not None:
        options["broker_credentials"] = SSLCredentials(context)
    if settings.kafka_group_instance_id:
        options["consumer_group_instance_id"] = settings.kafka_group_instance_id
    if settings.kafka_embedded:
        options.update(EMBEDDED_FAUST_OPTIONS)
    return options


def _protocol(settings: Settings) -> str:
    protocol = settings.kafka_security_protocol.strip().upper()
    if protocol not in SECURITY_PROTOCOLS:
        raise ConfigurationError(
            f"KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol!r}: "
            f"expected one of {sorted(SECURITY_PROTOCOLS)}"
        )
    return protocol


def _sasl(settings: Settings) -> tuple[str, str, str]:
    mechanism = settings.kafka_sasl_mechanism.strip().upper()
    if mechanism not in SASL_MECHANISMS:
        raise ConfigurationError(
            f"KAFKA_SASL_MECHANISM={settings.kafka_sasl_mechanism!r}: "
            f"expected one of {sorted(SASL_MECHANISMS)}"
        )
    if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
        raise ConfigurationError("KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with SASL")
    return mechanism, settings.kafka_sasl_username, settings.kafka_sasl_password.reveal()


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=settings.kafka_ssl_cafile or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"KAFKA_SSL_CAFILE={settings.kafka_ssl_cafile!r}: {exc}") from exc
