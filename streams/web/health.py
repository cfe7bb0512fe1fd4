"""Liveness and readiness of the worker: `Health`, and the GET `/live` and `/ready` views.

- `/live` answers 200 as long as the event loop runs a handler at all (a Kubernetes liveness
  probe: a wedged loop times out, a dead process refuses). It does nothing else, so it is fast.
- `/ready` answers 200 only when the worker is doing its job, else 503 with the first reason:

  | reason               | faust signal                                                     |
  |----------------------|------------------------------------------------------------------|
  | `stopping`           | `app.should_stop` (SIGTERM received, or crashed)                 |
  | `producer_not_started` | `app.producer.started` false or the producer stopping/crashed  |
  | `recovering`         | `app.tables.recovery.completed` not yet set (first recovery) or  |
  |                      | `app.in_recovery` (table changelogs being replayed)              |
  | `rebalancing`        | `app.rebalancing` (between a rebalance's start and its end)      |
  | `no_partitions`      | `app.consumer.assignment()` empty                                |

  faust's web server starts before the consumer and before table recovery (so webhooks can be
  accepted early), which is why readiness cannot be "the port answers".

Readiness flips to 503 for the few seconds of every rebalance (rolling deploys, scaling). The
probe's `failureThreshold` x `periodSeconds` should cover a rebalance (for example 3 x 5 s), so
that a rebalance does not take every pod out of the webhook Service at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import faust
from aiohttp import web
from faust.tables.manager import TableManager
from faust.web import Request, Response, View

__all__ = ["Health", "HealthStatus", "register_health_views"]


@dataclass(frozen=True, slots=True)
class HealthStatus:
    ok: bool
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "unavailable", "reason": self.reason}


_OK = HealthStatus(True, "ok")


class Health:
    """Reads faust's own state; holds none of its own."""

    def __init__(self, app: faust.App) -> None:
        self._app = app

    def live(self) -> HealthStatus:
        return _OK

    def ready(self) -> HealthStatus:
        app = self._app
        if app.should_stop:
            return HealthStatus(False, "stopping")
        producer = app.producer
        if not producer.started or producer.should_stop:
            return HealthStatus(False, "producer_not_started")
        recovery = cast(TableManager, app.tables).recovery
        if not recovery.completed.is_set() or app.in_recovery:
            return HealthStatus(False, "recovering")
        if app.rebalancing:
            return HealthStatus(False, "rebalancing")
        if not app.consumer.assignment():
            return HealthStatus(False, "no_partitions")
        return _OK


def _answer(status: HealthStatus) -> Response:
    response = web.json_response(status.as_json(), status=200 if status.ok else 503)
    response.headers["Cache-Control"] = "no-store"
    return cast(Response, response)  # faust's Response is an abstract base; the driver's is aiohttp's


def register_health_views(app: faust.App, health: Health) -> None:
    """GET `/live` and `/ready` on the worker's web server."""

    class LiveView(View):
        async def get(self, request: Request, **kwargs: Any) -> Response:
            return _answer(health.live())

    class ReadyView(View):
        async def get(self, request: Request, **kwargs: Any) -> Response:
            return _answer(health.ready())

    app.page("/live", name="live")(LiveView)
    app.page("/ready", name="ready")(ReadyView)
