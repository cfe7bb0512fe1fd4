"""The one faust application: `create_app(settings) -> Runtime`.

Everything the worker runs is wired here, visibly (no autodiscovery):

- `faust.App` configured from `Settings` only (`faust_app_options`). faust would otherwise read
  environment variables by itself and let them override what we pass (`WEB_PORT`, `WEB_BIND`,
  `BROKER_URL`, `APP_STORE`, `APP_DATADIR`, `TOPIC_PARTITIONS`, `TOPIC_REPLICATION_FACTOR`,
  `WORKER_REDIRECT_STDOUTS`, ... every `env_name` in `faust.types.settings.settings`); we pass
  `env={}`, so faust reads none of them and our explicit values always win. The only
  environment faust still consults is `FAUST_*`/`F_*` at import time (`faust.types._env`), for
  defaults we override anyway (web port, data dir) or leave off (`FAUST_DEBUG`).
- `Topics`: a faust topic per service topic, raw bytes in and out (our records encode
  themselves, `schemas`), `TOPIC_PARTITIONS` partitions, `internal=False`: the service creates
  its topics itself (`streams.broker.topics.ensure_topics`), faust never does.
- `Metrics` on the app's own registry, served with faust's Prometheus families (prefix
  `faust_`, latencies in ms) at `/metrics` on the web port.
- The Paymend client, opened when the app starts (before the producer, consumer and agents) and
  closed after they stopped; `Runtime.paymend` is None outside that span.
- The web views: the webhook endpoint and `/live`, `/ready` (`streams.web`).
- `streams.pipeline.register(runtime)`: the pipeline's tables, agents and timers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import faust
from mode import Service
from prometheus_client import CollectorRegistry

from streams.broker.client_config import faust_broker_options
from streams.broker.prompt_topic import PromptTopic
from streams.broker.worker_consumer import install_worker_consumer
from streams.faust_sensors import setup_faust_sensors
from streams.metrics import Metrics
from streams.paymend.client import PaymendClient
from streams.paymend.port import PaymendPort
from streams.settings import Settings
from streams.web.health import Health, register_health_views
from streams.web.webhook import TopicWriter, WebhookIntake, webhook_view

__all__ = [
    "BROKER_COMMIT_INTERVAL_S",
    "FAUST_METRICS_PREFIX",
    "ClosablePaymend",
    "PaymendFactory",
    "Runtime",
    "Topics",
    "create_app",
    "faust_app_options",
]

#: Prefix of faust's own Prometheus families (`faust_messages_received`, ...), independent of
#: APP_ID so that dashboards and rules do not depend on it.
FAUST_METRICS_PREFIX: Final = "faust"

#: Seconds between offset commits (faust's default is 2.8). Shorter means fewer events handled
#: again after a crash; every effect is idempotent, so this only trades work for commits.
BROKER_COMMIT_INTERVAL_S: Final = 1.0


class ClosablePaymend(PaymendPort, Protocol):
    """A Paymend port the app owns: closed when the worker stops."""

    async def aclose(self) -> None: ...


#: Builds the Paymend client when the worker starts (tests pass a fake).
PaymendFactory = Callable[[Settings, Metrics], ClosablePaymend]


@dataclass(frozen=True, slots=True)
class Topics:
    """The service's topics as faust topics (bytes keys and values)."""

    declines: faust.TopicT
    order_cancelled: faust.TopicT
    settled_elsewhere: faust.TopicT
    webhooks: faust.TopicT
    status: faust.TopicT
    dead_letters: faust.TopicT
    conflicts: faust.TopicT
    effects: faust.TopicT
    order_index: faust.TopicT

    @classmethod
    def for_app(cls, app: faust.App, settings: Settings) -> Topics:
        def topic(name: str) -> faust.TopicT:
            return app.topic(
                name,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=settings.topic_partitions,
                internal=False,
            )

        return cls(
            declines=topic(settings.topic_declines),
            order_cancelled=topic(settings.topic_order_cancelled),
            settled_elsewhere=topic(settings.topic_settled_elsewhere),
            webhooks=topic(settings.topic_webhooks),
            status=topic(settings.topic_status),
            dead_letters=topic(settings.topic_dead_letters),
            conflicts=topic(settings.topic_conflicts),
            effects=topic(settings.topic_effects),
            order_index=topic(settings.topic_order_index),
        )


@dataclass(slots=True, eq=False)
class Runtime:
    """What the pipeline and the views are wired with: one per app.

    `paymend` is set while the app runs (see the module docstring); everything else is fixed.
    """

    settings: Settings
    app: faust.App
    topics: Topics
    metrics: Metrics
    health: Health
    registry: CollectorRegistry
    paymend: PaymendPort | None = field(default=None)

    def require_paymend(self) -> PaymendPort:
        """The Paymend port; raises RuntimeError outside the app's running span."""
        if self.paymend is None:
            raise RuntimeError("the Paymend client is not open (the app is not running)")
        return self.paymend


def faust_app_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of `faust.App(settings.app_id, ...)`, all taken from `settings`.

    Web: `web_bind` (the address the server listens on) is `WORKER_WEB_HOST`, `web_port` is
    `WORKER_WEB_PORT`. faust's `web_host` is only the host name of its canonical URL (used to
    route table lookups between workers, which we do not serve), so it keeps its default.
    Every built-in faust page is off: tables, router, stats, graph and /performance/.
    """
    return {
        **faust_broker_options(settings),
        "env": {},  # faust reads no environment variables: Settings is the only source
        "autodiscover": False,
        "debug": False,
        "store": settings.worker_store,
        "datadir": settings.worker_data_dir,
        "topic_partitions": settings.topic_partitions,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "producer_acks": -1,
        "Topic": PromptTopic,  # sends reach the producer without three loop turns each
        "broker_commit_interval": BROKER_COMMIT_INTERVAL_S,
        # False: on a rebalance or stop, faust would otherwise wait, without a timeout, for every
        # unacknowledged event; the pipeline holds an event unacknowledged until its Paymend call
        # has a durable outcome, which during a Paymend outage could stall the rebalance forever.
        # faust still commits only the contiguous prefix of acknowledged offsets, so the next owner
        # sees those events again and re-drives their calls idempotently (streams.pipeline.agent).
        "stream_wait_empty": False,
        "web_enabled": True,
        "web_bind": settings.worker_web_host,
        "web_port": settings.worker_web_port,
        "web_tables_enabled": False,
        "web_router_enabled": False,
        "web_stats_enabled": False,
        "web_graph_enabled": False,
        "web_metrics_enabled": False,
    }


def _default_paymend(settings: Settings, metrics: Metrics) -> ClosablePaymend:
    return PaymendClient.from_settings(settings, observer=metrics.observe_paymend_call)


class PaymendConnection(Service):
    """Opens the Paymend client on start and closes it on stop, for one `Runtime`."""

    def __init__(self, runtime: Runtime, factory: PaymendFactory, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._runtime = runtime
        self._factory = factory
        self._client: ClosablePaymend | None = None

    async def on_start(self) -> None:
        self._client = self._factory(self._runtime.settings, self._runtime.metrics)
        self._runtime.paymend = self._client
        self.log.info("Paymend client open: %s", self._runtime.settings.paymend_url)

    async def on_stop(self) -> None:
        client, self._client = self._client, None
        self._runtime.paymend = None
        if client is not None:
            await client.aclose()


def create_app(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    paymend_factory: PaymendFactory | None = None,
) -> Runtime:
    """Build the app, its topics, metrics, views and pipeline. Nothing connects until it starts.

    `registry`: where our metrics and faust's go (a fresh one when None; never the global one, as
    a second app on the same registry would clash). `paymend_factory`: builds the Paymend port at
    start (default: `PaymendClient.from_settings`, which requires PAYMEND_API_TOKEN).
    """
    from streams import pipeline  # imports streams.app for its types: import here, not at the top

    registry = CollectorRegistry(auto_describe=True) if registry is None else registry
    app = faust.App(settings.app_id, **faust_app_options(settings))
    install_worker_consumer(app, settings)
    setup_faust_sensors(app, registry=registry, name_prefix=FAUST_METRICS_PREFIX)
    metrics = Metrics(registry)
    topics = Topics.for_app(app, settings)
    runtime = Runtime(
        settings=settings,
        app=app,
        topics=topics,
        metrics=metrics,
        health=Health(app),
        registry=registry,
    )
    # added before the app starts, so it starts before faust's own services and stops after them
    app.add_dependency(PaymendConnection(runtime, paymend_factory or _default_paymend))
    intake = WebhookIntake(settings, TopicWriter(topics.webhooks, settings.webhook_write_timeout_s), metrics)
    app.page(settings.webhook_path, name="paymend-webhook")(webhook_view(intake))
    register_health_views(app, runtime.health)
    pipeline.register(runtime)
    return runtime
