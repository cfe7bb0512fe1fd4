"""The aiohttp application: Paymend's five routes, and the one middleware in front of them.

For `/v1/...` the middleware, in order: adds the sampled latency; applies a pre-commit fault
(5xx, 429, drop, timeout) without touching state; checks the bearer token (401); runs the
handler; applies a post-commit fault (the state has changed, the answer is a 5xx or a drop);
maps errors to the JSON error body (`errors.py`); counts the answer per endpoint and status.
Other paths (`/_sandbox/...`, see `introspection.py`) skip all of it.

The handlers are thin: read and decode the body (orjson), call `PaymentService`, encode.
Every answer with a PaymentResponse is 200 (the docs' "200 OK"), a new payment included.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from streams.sandbox.core import Sandbox
from streams.sandbox.errors import ApiError, error_response, json_response, read_json
from streams.sandbox.faults import FaultAction
from streams.sandbox.introspection import add_introspection_routes
from streams.sandbox.rules import Op

__all__ = ["build_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DROPPED = "dropped"
_HTTP_ERRORS = {404: ("NOT_FOUND", "no such resource"), 405: ("METHOD_NOT_ALLOWED", "method not allowed")}


def drop(request: web.Request) -> web.Response:
    """Close the connection without answering (the returned response is never written)."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=499)


def _endpoint(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return "unmatched" if resource is None else f"{request.method} {resource.canonical}"


def _api_middleware(sandbox: Sandbox) -> Any:
    token = sandbox.config.token.encode()
    faults, stats = sandbox.faults, sandbox.requests

    def authorized(request: web.Request) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token)

    async def injected(request: web.Request, action: FaultAction) -> web.StreamResponse:
        cfg = faults.config
        if action in (FaultAction.ERROR, FaultAction.COMMIT_ERROR):
            return error_response(cfg.fault_error_status, "SERVICE_UNAVAILABLE", "injected fault")
        if action is FaultAction.RATE_LIMIT:
            retry_after = str(max(1, math.ceil(cfg.fault_retry_after_ms / 1000)))
            return error_response(429, "RATE_LIMITED", "injected fault", headers={"Retry-After": retry_after})
        if action is FaultAction.TIMEOUT:
            await sandbox.stall(cfg.fault_timeout_ms)
        return drop(request)

    @web.middleware
    async def api(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/v1/"):
            return await handler(request)
        latency_ms, action = faults.next()
        if latency_ms:
            await sandbox.stall(latency_ms)
        response: web.StreamResponse
        try:
            if action is not FaultAction.NONE and not action.after_commit:
                response = await injected(request, action)
            elif not authorized(request):
                response = error_response(
                    401,
                    "UNAUTHORIZED",
                    "missing or invalid bearer token",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            else:
                response = await handler(request)
        except ApiError as exc:
            response = exc.response()
        except web.HTTPException as exc:
            code, message = _HTTP_ERRORS.get(exc.status, ("HTTP_ERROR", exc.reason))
            response = error_response(exc.status, code, message)
        if action.after_commit:
            response = await injected(request, action)
        dropped = request.transport is None or request.transport.is_closing()
        stats.count(_endpoint(request), DROPPED if dropped else str(response.status))
        return response

    return api


class _Routes:
    def __init__(self, sandbox: Sandbox) -> None:
        self.service = sandbox.service

    async def create(self, request: web.Request) -> web.Response:
        return json_response(self.service.create(await read_json(request)))

    async def get(self, request: web.Request) -> web.Response:
        return json_response(self.service.get(request.match_info["paymentId"]))

    async def capture(self, request: web.Request) -> web.Response:
        return await self._operate(Op.CAPTURE, request)

    async def void(self, request: web.Request) -> web.Response:
        return await self._operate(Op.VOID, request)

    async def refund(self, request: web.Request) -> web.Response:
        return await self._operate(Op.REFUND, request)

    async def _operate(self, op: Op, request: web.Request) -> web.Response:
        body = await read_json(request)
        return json_response(self.service.operate(op, request.match_info["paymentId"], body))


def build_app(sandbox: Sandbox) -> web.Application:
    """The application serving `sandbox` (Paymend's API plus `/_sandbox/...`)."""
    app = web.Application(middlewares=[_api_middleware(sandbox)], client_max_size=1024**2)
    routes = _Routes(sandbox)
    app.router.add_post("/v1/payments", routes.create)
    app.router.add_get("/v1/payments/{paymentId}", routes.get, allow_head=False)
    app.router.add_post("/v1/payments/{paymentId}/capture", routes.capture)
    app.router.add_post("/v1/payments/{paymentId}/void", routes.void)
    app.router.add_post("/v1/payments/{paymentId}/refund", routes.refund)
    add_introspection_routes(app, sandbox)
    return app
