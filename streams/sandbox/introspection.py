"""`/_sandbox/...`: test and demo controls. NOT part of Paymend's API; no authentication.

- `GET /_sandbox/health`: `{"status": "ok"}` once the server serves.
- `GET /_sandbox/stats`: payments (by status), pending timers, requests by endpoint and status
  (`dropped` for closed connections), faults injected, webhook delivery counters.
- `GET /_sandbox/payments?merchantReference=R&status=S&limit=N`: `{"count", "payments"}`: how
  many match and the first N (default 1000) PaymentResponses, plus `"createRequests"` (accepted
  creates that carried R, duplicates included) when R is given.
- `POST /_sandbox/reset`: forget payments, timers, deliveries, scripted faults and counters.
- `GET /_sandbox/faults`: the fault settings in force.
- `PATCH /_sandbox/faults`: change them, e.g. `{"fault_error_rate": 0.2, "latency_ms": "fixed:50"}`.
- `POST /_sandbox/faults/script`: `{"actions": ["commit-error", "none", "drop"]}` forces the faults
  of the next API requests, in order.
- `POST /_sandbox/payments/{paymentId}/resolve`: resolve a PENDING payment now, as its timer would
  (409 NOT_PENDING otherwise).

The same operations exist in process on `Sandbox` (`payments`, `stats`, `reset`, `faults`,
`service.resolve_now`) and `PaymentStore` (`create_requests`, `wait_for_status`).
"""

from __future__ import annotations

import typing
from typing import Any

from aiohttp import web

from streams.sandbox.config import SandboxConfig, SandboxConfigError
from streams.sandbox.core import Sandbox
from streams.sandbox.errors import ApiError, error_response, json_response, read_json

__all__ = ["add_introspection_routes"]


def _bad_request(exc: Exception) -> web.Response:
    return error_response(400, "VALIDATION_ERROR", str(exc))


def add_introspection_routes(app: web.Application, sandbox: Sandbox) -> None:
    """Register `/_sandbox/...` on `app`."""
    hints = typing.get_type_hints(SandboxConfig)

    async def health(request: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    async def stats(request: web.Request) -> web.Response:
        return json_response(sandbox.stats())

    async def payments(request: web.Request) -> web.Response:
        reference = request.query.get("merchantReference")
        try:
            limit = int(request.query.get("limit", "1000"))
        except ValueError as exc:
            return _bad_request(exc)
        count, found = sandbox.payments(reference, request.query.get("status"), limit)
        body: dict[str, Any] = {"count": count, "payments": found}
        if reference is not None:
            body["createRequests"] = sandbox.store.create_requests(reference)
        return json_response(body)

    async def reset(request: web.Request) -> web.Response:
        await sandbox.reset()
        return json_response({"status": "reset"})

    async def faults(request: web.Request) -> web.Response:
        return json_response(sandbox.faults.settings())

    async def change_faults(request: web.Request) -> web.Response:
        try:
            changes = await read_json(request)
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object of fault settings")
            for name, value in changes.items():
                if (
                    name in hints
                    and not isinstance(value, hints[name])
                    and not (hints[name] is float and isinstance(value, int))
                ):
                    raise ValueError(f"{name}: expected {hints[name].__name__}")
            sandbox.faults.configure(**changes)
        except (ValueError, TypeError, SandboxConfigError) as exc:
            return _bad_request(exc)
        except ApiError as exc:
            return exc.response()
        return json_response(sandbox.faults.settings())

    async def script(request: web.Request) -> web.Response:
        try:
            body = await read_json(request)
            actions = body.get("actions") if isinstance(body, dict) else None
            if not isinstance(actions, list):
                raise ValueError('expected {"actions": [...]}')
            sandbox.faults.script(actions)
        except ValueError as exc:
            return _bad_request(exc)
        except ApiError as exc:
            return exc.response()
        return json_response({"scripted": sandbox.faults.scripted})

    async def resolve(request: web.Request) -> web.Response:
        payment_id = request.match_info["paymentId"]
        if not sandbox.service.resolve_now(payment_id):
            return error_response(409, "NOT_PENDING", "no PENDING payment with a timer has this id")
        return json_response(sandbox.service.get(payment_id))

    app.router.add_get("/_sandbox/health", health)
    app.router.add_get("/_sandbox/stats", stats)
    app.router.add_get("/_sandbox/payments", payments)
    app.router.add_post("/_sandbox/reset", reset)
    app.router.add_get("/_sandbox/faults", faults)
    app.router.add_patch("/_sandbox/faults", change_faults)
    app.router.add_post("/_sandbox/faults/script", script)
    app.router.add_post("/_sandbox/payments/{paymentId}/resolve", resolve)
