"""JSON bodies in and out, and the error answers of the API (our choice: Paymend documents none).

Every error is `{"error": {"code", "message", "field"?, ...}}`:

| status | code                          | when                                                     |
|--------|-------------------------------|----------------------------------------------------------|
| 400    | INVALID_JSON                  | the body is not JSON                                      |
| 400    | VALIDATION_ERROR              | a field is missing or invalid (`field` names it)          |
| 401    | UNAUTHORIZED                  | no or wrong bearer token (also `WWW-Authenticate: Bearer`) |
| 404    | NOT_FOUND                     | unknown paymentId or path                                 |
| 405    | METHOD_NOT_ALLOWED            | wrong method on a known path                              |
| 409    | INVALID_STATE                 | wrong-state operation (`status` gives the current one)    |
| 409    | DUPLICATE_MERCHANT_REFERENCE  | reused merchantReference, `conflict` mode (`paymentId`)   |
| 429    | RATE_LIMITED                  | injected fault, with `Retry-After`                        |
| 5xx    | SERVICE_UNAVAILABLE           | injected fault                                            |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

__all__ = ["ApiError", "error_response", "json_response", "read_json"]


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(payload), status=status, content_type="application/json", headers=headers
    )


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
    details: Mapping[str, Any] | None = None,
) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    if details:
        error.update(details)
    return json_response({"error": error}, status, headers)


class ApiError(Exception):
    """Raised by the service and handlers; the middleware turns it into `response()`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details

    def response(self) -> web.Response:
        return error_response(self.status, self.code, self.message, field=self.field, details=self.details)


async def read_json(request: web.Request) -> Any:
    """The decoded body, None when empty; ApiError 400 INVALID_JSON when it is not JSON."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "INVALID_JSON", "the request body is not valid JSON") from None
