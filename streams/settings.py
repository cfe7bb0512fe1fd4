"""The service's one settings object, built once from the environment.

Every field names its environment variable and says what it does; the README's configuration
reference and the Helm chart are checked against this module. Secrets are held in `Secret`, whose
repr and str never show the value. Only wiring code (the CLI, the app factory) reads the
environment; everything else receives a `Settings` (tests build one directly).

faust reads some environment variables by itself (`WEB_PORT`, `WEB_HOST`, `BROKER_URL`,
`APP_STORE`, ...) and lets them override `App(...)` arguments, so none of ours reuse those names:
the worker's own web port is `WORKER_WEB_PORT`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "PAYMEND_PRESETS",
    "ConfigurationError",
    "Secret",
    "Settings",
    "setting_fields",
]


class ConfigurationError(ValueError):
    """A setting is missing, malformed or inconsistent with another."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret string that never prints: repr and str are masked; `reveal()` gives the value."""

    _value: str

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    def __str__(self) -> str:
        return "********"


#: Named base URLs. The docs give two sandbox hosts (paymend-api.md C1); both are presets.
PAYMEND_PRESETS: Final[Mapping[str, str]] = {
    "production": "https://prod-api.paymend.com",
    "sandbox": "https://sandbox-api.paymend.com",
    "sandbox-test": "https://test-api.paymend.com",
}


def _setting(env: str, doc: str, default: Any = dataclasses.MISSING, **kw: Any) -> Any:
    if default is dataclasses.MISSING and "default_factory" not in kw:
        return field(metadata={"env": env, "doc": doc}, **kw)
    return field(default=default, metadata={"env": env, "doc": doc}, **kw)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the worker, the CLI and the web endpoints are configured by."""

    # --- Kafka -------------------------------------------------------------------------------
    kafka_bootstrap: str = _setting(
        "KAFKA_BOOTSTRAP",
        "Kafka bootstrap servers, comma separated (host:port). `make run` and `make test` start an "
        "embedded broker and set this themselves when it is empty.",
        "",
    )
    kafka_embedded: bool = _setting(
        "KAFKA_EMBEDDED",
        "True when the broker is the embedded Tansu: applies the Tansu-only client settings "
        "(2 s session timeout, end offsets read with a fetch). Never set it against real Kafka.",
        False,
    )
    kafka_security_protocol: str = _setting(
        "KAFKA_SECURITY_PROTOCOL", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.", "PLAINTEXT"
    )
    kafka_sasl_mechanism: str = _setting(
        "KAFKA_SASL_MECHANISM", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with a SASL protocol).", "PLAIN"
    )
    kafka_sasl_username: str = _setting("KAFKA_SASL_USERNAME", "SASL user name.", "")
    kafka_sasl_password: Secret | None = _setting("KAFKA_SASL_PASSWORD", "SASL password (secret).", None)
    kafka_ssl_cafile: str = _setting(
        "KAFKA_SSL_CAFILE", "Path of a CA bundle for TLS to Kafka; empty uses the system store.", ""
    )
    kafka_group_instance_id: str = _setting(
        "KAFKA_GROUP_INSTANCE_ID",
        "Static consumer-group membership (KIP-345): a stable ID per worker, e.g. the StatefulSet pod "
        "name, so a restarted pod takes its partitions back without a rebalance. Empty: dynamic.",
        "",
    )
    kafka_fetch_max_wait_ms: int = _setting(
        "KAFKA_FETCH_MAX_WAIT_MS",
        "Longest the broker may hold an idle fetch of the worker's consumer. 0: faust's 1500 ms on a "
        "real Kafka (which answers as soon as records arrive), 20 ms on the embedded broker (which "
        "holds fetches regardless).",
        0,
    )
    topic_partitions: int = _setting(
        "TOPIC_PARTITIONS",
        "Partitions of every input, table and webhook topic. They must all match (co-partitioning).",
        8,
    )
    topic_replication_factor: int = _setting(
        "TOPIC_REPLICATION_FACTOR",
        "Replication factor of the topics the service creates (1 on the embedded broker).",
        3,
    )
    topic_declines: str = _setting("TOPIC_DECLINES", "Input: DeclineEvent records.", "payments.declines.v1")
    topic_order_cancelled: str = _setting(
        "TOPIC_ORDER_CANCELLED", "Input: OrderCancelled records.", "orders.cancelled.v1"
    )
    topic_settled_elsewhere: str = _setting(
        "TOPIC_SETTLED_ELSEWHERE",
        "Input: PaymentSettledElsewhere records.",
        "payments.settled-elsewhere.v1",
    )
    topic_webhooks: str = _setting(
        "TOPIC_WEBHOOKS", "Raw Paymend webhook events, as received.", "paymend.webhooks.raw.v1"
    )
    topic_status: str = _setting(
        "TOPIC_STATUS", "Output: PaymentStatusChanged records.", "paymend.payment-status.v1"
    )
    topic_dead_letters: str = _setting(
        "TOPIC_DEAD_LETTERS", "Output: DeadLetter records.", "paymend-streams.dead-letters.v1"
    )
    topic_conflicts: str = _setting(
        "TOPIC_CONFLICTS",
        "Output: impossible transitions and contradictions about a payment, with the reason "
        "(DeadLetter shape).",
        "paymend-streams.conflicts.v1",
    )

    # --- Paymend -----------------------------------------------------------------------------
    paymend_environment: str = _setting(
        "PAYMEND_ENVIRONMENT",
        "Base-URL preset: production, sandbox (sandbox-api host) or sandbox-test (test-api host).",
        "sandbox",
    )
    paymend_base_url: str = _setting(
        "PAYMEND_BASE_URL", "Overrides the preset, e.g. the local sandbox simulator's URL.", ""
    )
    paymend_api_token: Secret | None = _setting(
        "PAYMEND_API_TOKEN", "Bearer token issued by Paymend (secret). Required by the worker.", None
    )
    paymend_connect_timeout_s: float = _setting(
        "PAYMEND_CONNECT_TIMEOUT_S", "Seconds to open a connection to Paymend.", 2.0
    )
    paymend_read_timeout_s: float = _setting(
        "PAYMEND_READ_TIMEOUT_S", "Seconds to wait for Paymend's answer to one request.", 10.0
    )
    paymend_pool_timeout_s: float = _setting(
        "PAYMEND_POOL_TIMEOUT_S", "Seconds to wait for a free pooled connection.", 5.0
    )
    paymend_max_connections: int = _setting(
        "PAYMEND_MAX_CONNECTIONS", "Connection pool size towards Paymend.", 100
    )
    paymend_http_client: str = _setting(
        "PAYMEND_HTTP_CLIENT",
        "HTTP library of the Paymend client: `aiohttp` (fastest, see the benchmark) or `httpx`.",
        "aiohttp",
    )
    paymend_retry_attempts: int = _setting(
        "PAYMEND_RETRY_ATTEMPTS",
        "Attempts per call on timeouts, connect errors, 429 and 5xx (1 = no retry).",
        5,
    )
    paymend_retry_base_s: float = _setting(
        "PAYMEND_RETRY_BASE_S", "First backoff in seconds; doubles per attempt, full jitter.", 0.1
    )
    paymend_retry_max_s: float = _setting(
        "PAYMEND_RETRY_MAX_S", "Cap of one backoff in seconds (also caps a 429's Retry-After).", 5.0
    )
    paymend_capture_now: bool = _setting(
        "PAYMEND_CAPTURE_NOW",
        "`captureNow` on created payments (true = sale, false = authorize only).",
        False,
    )

    topic_order_index: str = _setting(
        "TOPIC_ORDER_INDEX",
        "Internal: order ID -> payment IDs, and cancels that name only an order, keyed by order ID.",
        "paymend-streams.order-index.v1",
    )
    topic_effects: str = _setting(
        "TOPIC_EFFECTS",
        "Internal: outcomes of Paymend calls and reconciliation commands, fed back to the state agent.",
        "paymend-streams.effects.v1",
    )

    # --- Pipeline ----------------------------------------------------------------------------
    pipeline_max_in_flight: int = _setting(
        "PIPELINE_MAX_IN_FLIGHT",
        "Paymend calls in flight at once per worker (different payments; one payment has at most one).",
        256,
    )
    cancel_captured_action: str = _setting(
        "CANCEL_CAPTURED_ACTION",
        "What an OrderCancelled does to a payment already CAPTURED: `refund` or `none` (report only).",
        "refund",
    )
    settled_elsewhere_captured_action: str = _setting(
        "SETTLED_ELSEWHERE_CAPTURED_ACTION",
        "What a PaymentSettledElsewhere does to a payment already CAPTURED (a double charge): "
        "`refund` or `none`.",
        "refund",
    )
    reconcile_interval_s: float = _setting(
        "RECONCILE_INTERVAL_S", "How often each worker scans its payments for stuck ones.", 60.0
    )
    reconcile_after_s: float = _setting(
        "RECONCILE_AFTER_S",
        "A payment PENDING (or with a call unanswered) this long is queried with GET /v1/payments/{id}.",
        900.0,
    )
    recovery_window_s: float = _setting(
        "RECOVERY_WINDOW_S",
        "Paymend's maximum recovery window as we assume it: PENDING longer than this is reported stuck.",
        14 * 24 * 3600.0,
    )

    # --- Webhooks ----------------------------------------------------------------------------
    webhook_path: str = _setting(
        "WEBHOOK_PATH", "Path of the webhook endpoint on the worker.", "/webhooks/paymend"
    )
    webhook_token: Secret | None = _setting(
        "WEBHOOK_TOKEN",
        "Secret token Paymend must send as a URL query parameter (secret). Empty: not checked.",
        None,
    )
    webhook_token_param: str = _setting("WEBHOOK_TOKEN_PARAM", "Name of that query parameter.", "token")
    webhook_hmac_secrets: Secret | None = _setting(
        "WEBHOOK_HMAC_SECRETS",
        "HMAC-SHA256 keys of the signature header, comma separated: two during a rotation (secret). "
        "Empty: signatures are not checked.",
        None,
    )
    webhook_signature_header: str = _setting(
        "WEBHOOK_SIGNATURE_HEADER", "Header carrying `t=<unix>,v1=<hex>`.", "Paymend-Signature"
    )
    webhook_signature_tolerance_s: float = _setting(
        "WEBHOOK_SIGNATURE_TOLERANCE_S", "Largest accepted age of a signature's timestamp.", 300.0
    )
    webhook_write_timeout_s: float = _setting(
        "WEBHOOK_WRITE_TIMEOUT_S",
        "How long the endpoint waits for Kafka to confirm a write before answering 503.",
        0.35,
    )
    webhook_max_body_bytes: int = _setting(
        "WEBHOOK_MAX_BODY_BYTES", "Larger webhook bodies are refused with 413.", 262_144
    )

    # --- Worker ------------------------------------------------------------------------------
    app_id: str = _setting(
        "APP_ID",
        "faust application id: the consumer group and the prefix of table topics.",
        "paymend-streams",
    )
    worker_store: str = _setting(
        "WORKER_STORE", "Table store: rocksdb:// (production) or memory:// (stateless trials).", "rocksdb://"
    )
    worker_data_dir: str = _setting(
        "WORKER_DATA_DIR", "Directory of the worker's RocksDB tables and faust state.", "./.run/worker-data"
    )
    rocksdb_write_buffer_mb: int = _setting(
        "ROCKSDB_WRITE_BUFFER_MB",
        "MiB of one RocksDB memtable, per table partition (two at most each). faust's default is 64 "
        "(three each): 8 partitions then hold up to 1.5 GiB while a worker recovers a large table.",
        16,
    )
    rocksdb_block_cache_mb: int = _setting(
        "ROCKSDB_BLOCK_CACHE_MB",
        "MiB of RocksDB's block cache, per table partition. faust's default is 2048.",
        32,
    )
    worker_web_host: str = _setting(
        "WORKER_WEB_HOST", "Address the web server (webhooks, /metrics, /live, /ready) binds.", "0.0.0.0"
    )
    worker_web_port: int = _setting("WORKER_WEB_PORT", "Port of the worker's web server.", 6066)
    log_level: str = _setting("LOG_LEVEL", "Python logging level.", "INFO")

    # --- derived -----------------------------------------------------------------------------
    @property
    def paymend_url(self) -> str:
        """The base URL in force: `PAYMEND_BASE_URL`, else the preset's."""
        if self.paymend_base_url:
            return self.paymend_base_url.rstrip("/")
        return PAYMEND_PRESETS[self.paymend_environment]

    @property
    def input_topics(self) -> tuple[str, ...]:
        return (self.topic_declines, self.topic_order_cancelled, self.topic_settled_elsewhere)

    @property
    def webhook_hmac_keys(self) -> tuple[bytes, ...]:
        """The HMAC keys in force (two during a rotation), from `WEBHOOK_HMAC_SECRETS`."""
        if self.webhook_hmac_secrets is None:
            return ()
        return tuple(k.strip().encode() for k in self.webhook_hmac_secrets.reveal().split(",") if k.strip())

    def __post_init__(self) -> None:
        if self.paymend_environment not in PAYMEND_PRESETS:
            raise ConfigurationError(
                f"PAYMEND_ENVIRONMENT={self.paymend_environment!r}: expected one of {sorted(PAYMEND_PRESETS)}"
            )
        for name in ("topic_partitions", "topic_replication_factor", "paymend_retry_attempts"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{setting_env(name)} must be at least 1")
        for name in ("paymend_connect_timeout_s", "paymend_read_timeout_s", "paymend_pool_timeout_s"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"{setting_env(name)} must be positive")
        if self.paymend_http_client not in {"aiohttp", "httpx"}:
            raise ConfigurationError("PAYMEND_HTTP_CLIENT must be aiohttp or httpx")
        for name in ("cancel_captured_action", "settled_elsewhere_captured_action"):
            if getattr(self, name) not in {"refund", "none"}:
                raise ConfigurationError(f"{setting_env(name)} must be refund or none")
        if self.kafka_fetch_max_wait_ms < 0:
            raise ConfigurationError("KAFKA_FETCH_MAX_WAIT_MS must be 0 or more")
        if self.rocksdb_write_buffer_mb < 1 or self.rocksdb_block_cache_mb < 1:
            raise ConfigurationError("ROCKSDB_WRITE_BUFFER_MB and ROCKSDB_BLOCK_CACHE_MB must be at least 1")
        if self.pipeline_max_in_flight < 1:
            raise ConfigurationError("PIPELINE_MAX_IN_FLIGHT must be at least 1")
        if not self.webhook_path.startswith("/"):
            raise ConfigurationError("WEBHOOK_PATH must start with /")
        if self.worker_store.split("://")[0] not in {"rocksdb", "memory"}:
            raise ConfigurationError("WORKER_STORE must be rocksdb:// or memory://")

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Build settings from an environment mapping; `overrides` win over the environment."""
        values: dict[str, Any] = {}
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            env = f.metadata["env"]
            if f.name in overrides:
                continue
            raw = environ.get(env)
            if raw is None or (raw == "" and hints[f.name] is not str):
                continue
            values[f.name] = _parse(env, raw, hints[f.name])
        values.update(overrides)
        return cls(**values)

    def require_paymend_token(self) -> Secret:
        if self.paymend_api_token is None:
            raise ConfigurationError("PAYMEND_API_TOKEN is required")
        return self.paymend_api_token

    def require_kafka_bootstrap(self) -> str:
        if not self.kafka_bootstrap:
            raise ConfigurationError("KAFKA_BOOTSTRAP is required (host:port of your Kafka brokers)")
        return self.kafka_bootstrap


def setting_fields() -> list[tuple[str, str, str, Any]]:
    """(field name, environment variable, description, default) for every setting, in order."""
    out = []
    for f in dataclasses.fields(Settings):
        default = None if f.default is dataclasses.MISSING else f.default
        out.append((f.name, f.metadata["env"], f.metadata["doc"], default))
    return out


def setting_env(name: str) -> str:
    for f in dataclasses.fields(Settings):
        if f.name == name:
            return str(f.metadata["env"])
    raise KeyError(name)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(env: str, raw: str, hint: Any) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        hint = next(a for a in args if a is not type(None))
    try:
        if hint is bool:
            low = raw.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError("expected true or false")
        if hint is int:
            return int(raw)
        if hint is float:
            return float(raw)
        if hint is Secret:
            return Secret(raw)
        if hint is str:
            return raw
    except ValueError as exc:
        raise ConfigurationError(f"{env}: {exc}") from None
    raise ConfigurationError(f"{env}: unsupported setting type {hint!r}")
