"""The app factory: Settings mapped onto faust's conf, topics, views, metrics, Paymend lifecycle.

Nothing here connects to a broker: `create_app` only builds; the worker starts it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

import streams.pipeline
from streams.app import (
    BROKER_COMMIT_INTERVAL_S,
    FAUST_METRICS_PREFIX,
    PaymendConnection,
    Runtime,
    Topics,
    create_app,
    faust_app_options,
)
from streams.broker.client_config import EMBEDDED_FAUST_OPTIONS
from streams.metrics import Metrics
from streams.paymend.client import PaymendClient
from streams.paymend.models import PaymentRequest
from streams.paymend.responses import PaymentResponse
from streams.settings import ConfigurationError, Secret, Settings

BOOTSTRAP = "127.0.0.1:9092"


@pytest.fixture(autouse=True)
def pipeline_calls(monkeypatch: pytest.MonkeyPatch) -> list[Runtime]:
    """The pipeline's `register` replaced by a recorder: these tests are about the factory only."""
    calls: list[Runtime] = []
    monkeypatch.setattr(streams.pipeline, "register", calls.append)
    return calls


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap": BOOTSTRAP,
        "worker_web_port": 17001,
        "worker_data_dir": "/tmp/paymend-streams-test-data",  # never created: the app is not started
        "app_id": "test-app",
        **overrides,
    }
    return Settings(**values)


# --- conf mapping ----------------------------------------------------------------------------


def test_conf_is_mapped_from_settings() -> None:
    s = settings(topic_partitions=6, worker_store="memory://", worker_web_host="127.0.0.1")
    conf = create_app(s).app.conf

    assert conf.id == "test-app"
    assert [str(url) for url in conf.broker] == [f"kafka://{BOOTSTRAP}"]
    assert str(conf.store) == "memory:"
    assert str(conf.datadir).startswith("/tmp/paymend-streams-test-data")
    assert conf.topic_partitions == 6
    assert conf.web_port == 17001
    assert conf.web_bind == "127.0.0.1"
    assert conf.web_enabled is True
    assert conf.key_serializer == "raw"
    assert conf.value_serializer == "raw"
    assert conf.producer_acks == -1
    assert conf.broker_commit_interval == BROKER_COMMIT_INTERVAL_S
    assert conf.stream_wait_empty is False  # the pipeline holds events unacked during Paymend calls
    assert conf.autodiscover is False
    for page in ("web_tables_enabled", "web_router_enabled", "web_stats_enabled", "web_graph_enabled"):
        assert getattr(conf, page) is False, page


def test_tansu_options_only_on_the_embedded_broker() -> None:
    real = faust_app_options(settings(topic_replication_factor=3))
    embedded = faust_app_options(settings(kafka_embedded=True))

    tansu_only = set(EMBEDDED_FAUST_OPTIONS) - {"topic_replication_factor"}
    assert tansu_only.isdisjoint(real)
    assert real["topic_replication_factor"] == 3
    assert {k: embedded[k] for k in EMBEDDED_FAUST_OPTIONS} == EMBEDDED_FAUST_OPTIONS
    conf = create_app(settings(kafka_embedded=True)).app.conf
    assert conf.broker_session_timeout == 2.0
    assert conf.producer_max_batch_size == 16384  # faust's default: the consumer corrects end offsets
    assert conf.topic_replication_factor == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WEB_PORT", "1234"),
        ("WEB_BIND", "10.9.9.9"),
        ("BROKER_URL", "kafka://elsewhere:9092"),
        ("APP_STORE", "memory://"),
        ("APP_DATADIR", "/somewhere/else"),
        ("TOPIC_PARTITIONS", "99"),
        ("TOPIC_REPLICATION_FACTOR", "7"),
        ("APP_WEB_TABLES_ENABLED", "true"),
        ("PRODUCER_ACKS", "1"),
        ("APP_ENV_PREFIX", "EVIL_"),
    ],
)
def test_faust_environment_variables_do_not_override_our_settings(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("EVIL_WEB_PORT", "4321")
    conf = create_app(settings(kafka_embedded=True)).app.conf

    assert conf.web_port == 17001
    assert conf.web_bind == "0.0.0.0"
    assert [str(url) for url in conf.broker] == [f"kafka://{BOOTSTRAP}"]
    assert str(conf.store) == "rocksdb:"
    assert str(conf.datadir).startswith("/tmp/paymend-streams-test-data")
    assert conf.topic_partitions == 8
    assert conf.topic_replication_factor == 1
    assert conf.web_tables_enabled is False
    assert conf.producer_acks == -1


def test_the_pipeline_is_registered_once_with_the_runtime(pipeline_calls: list[Runtime]) -> None:
    runtime = create_app(settings())
    assert pipeline_calls == [runtime]


# --- topics ----------------------------------------------------------------------------------


def test_every_topic_setting_has_a_faust_topic() -> None:
    topic_settings = {f.name.removeprefix("topic_") for f in dataclasses.fields(Settings)} & {
        f.name for f in dataclasses.fields(Topics)
    }
    all_topic_names = {
        f.name.removeprefix("topic_")
        for f in dataclasses.fields(Settings)
        if f.name.startswith("topic_") and f.type in ("str", str)
    }
    assert all_topic_names == topic_settings == {f.name for f in dataclasses.fields(Topics)}


def test_topics_are_raw_bytes_with_our_partition_count_and_never_created_by_faust() -> None:
    s = settings(topic_partitions=5, topic_webhooks="wh-test")
    runtime = create_app(s)
    for f in dataclasses.fields(Topics):
        topic = getattr(runtime.topics, f.name)
        [name] = topic.topics
        assert name == getattr(s, f"topic_{f.name}")
        assert topic.partitions == 5
        assert topic.internal is False
        assert topic.key_type is bytes
        assert topic.value_type is bytes
        assert topic.key_serializer == "raw"
        assert topic.value_serializer == "raw"
    assert runtime.topics.webhooks.topics == ("wh-test",)


# --- views and metrics -----------------------------------------------------------------------


def test_views_are_registered_and_faust_pages_are_off() -> None:
    runtime = create_app(settings(webhook_path="/hooks/pm"))
    web = runtime.app.web
    web.init_server()
    assert {"/hooks/pm", "/live", "/ready", "/metrics"} <= set(web.views)
    paths = {resource.canonical for resource in web.web_app.router.resources()}
    assert {"/hooks/pm", "/live", "/ready", "/metrics"} <= paths
    assert not any(p.startswith(("/table", "/router", "/graph", "/stats", "/performance")) for p in paths)


def test_each_app_gets_its_own_registry_so_several_can_coexist() -> None:
    first, second = create_app(settings()), create_app(settings(app_id="other"))
    assert first.registry is not second.registry
    assert first.metrics.registry is first.registry


def test_our_and_faust_metrics_share_the_given_registry() -> None:
    registry = CollectorRegistry()
    runtime = create_app(settings(), registry=registry)
    names = {family.name for family in registry.collect()}
    assert runtime.metrics.registry is registry
    assert f"{FAUST_METRICS_PREFIX}_messages_received" in names
    assert "paymend_streams_webhooks_received" in names


def test_a_fresh_app_is_not_ready() -> None:
    runtime = create_app(settings())
    assert runtime.health.live().ok
    ready = runtime.health.ready()
    assert not ready.ok
    assert ready.reason == "producer_not_started"


# --- Paymend lifecycle -----------------------------------------------------------------------


class FakePaymend:
    def __init__(self) -> None:
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True

    async def create_payment(
        self, request: PaymentRequest, *, request_id: str | None = None
    ) -> PaymentResponse:
        raise NotImplementedError

    async def get_payment(self, payment_id: str, *, request_id: str | None = None) -> PaymentResponse:
        raise NotImplementedError

    async def capture(
        self, payment_id: str, amount: int | None = None, *, request_id: str | None = None
    ) -> PaymentResponse:
        raise NotImplementedError

    async def void(self, payment_id: str, *, request_id: str | None = None) -> PaymentResponse:
        raise NotImplementedError

    async def refund(
        self, payment_id: str, amount: int | None = None, *, request_id: str | None = None
    ) -> PaymentResponse:
        raise NotImplementedError


async def test_the_paymend_client_is_open_only_while_the_app_runs() -> None:
    fake = FakePaymend()
    seen: list[tuple[Settings, Metrics]] = []

    def factory(s: Settings, metrics: Metrics) -> FakePaymend:
        seen.append((s, metrics))
        return fake

    runtime = create_app(settings(), paymend_factory=factory)
    assert runtime.paymend is None
    with pytest.raises(RuntimeError, match="not open"):
        runtime.require_paymend()
    [connection] = [s for s in runtime.app._children if isinstance(s, PaymendConnection)]

    await connection.start()
    assert runtime.require_paymend() is fake
    assert seen == [(runtime.settings, runtime.metrics)]
    await connection.stop()
    assert runtime.paymend is None
    assert fake.closed


async def test_the_default_paymend_client_needs_a_token_at_start_not_at_build() -> None:
    runtime = create_app(settings())  # no PAYMEND_API_TOKEN: building is fine
    [connection] = [s for s in runtime.app._children if isinstance(s, PaymendConnection)]
    with pytest.raises(ConfigurationError, match="PAYMEND_API_TOKEN"):
        await connection.start()
    assert runtime.paymend is None


async def test_the_default_paymend_client_is_a_real_client_on_the_configured_url() -> None:
    runtime = create_app(settings(paymend_api_token=Secret("t"), paymend_base_url="http://127.0.0.1:9"))
    [connection] = [s for s in runtime.app._children if isinstance(s, PaymendConnection)]
    await connection.start()
    try:
        assert isinstance(runtime.require_paymend(), PaymendClient)
        assert "http://127.0.0.1:9" in repr(runtime.paymend)
    finally:
        await connection.stop()
    assert runtime.paymend is None


@pytest.mark.parametrize(
    ("embedded", "setting", "expected"),
    [(True, 0, 20), (False, 0, 1500), (False, 250, 250), (True, 300, 300)],
)
async def test_the_worker_consumer_fetch_wait_is_faust_s_unless_set_or_embedded(
    embedded: bool, setting: int, expected: int
) -> None:
    settings = Settings(
        kafka_bootstrap="127.0.0.1:9",
        kafka_embedded=embedded,
        kafka_fetch_max_wait_ms=setting,
        paymend_api_token=Secret("t"),
    )
    app = create_app(settings, registry=CollectorRegistry()).app
    thread = app.consumer._thread  # type: ignore[attr-defined]
    try:
        consumer = thread._create_worker_consumer(app.transport)  # built, never started: no connection
        await consumer.stop()  # never started: only marks it closed
        assert consumer._fetch_max_wait_ms == expected
    finally:
        thread.thread_loop.close()
