"""Mapping of contract errors and invalid requests onto HTTP answers."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.gateway.error_bodies import error_body

STATUS = {
    ErrorKind.VALIDATION: 400,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.DEADLINE_EXCEEDED: 503,
    ErrorKind.TOO_LARGE: 413,
    ErrorKind.INTERNAL: 500,
}
REQUEST_ID_HEADER = "X-Request-ID"
log = logging.getLogger("agentplane.gateway")


def error_response(
    status: int, message: str, kind: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"error": message, "kind": kind}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status)


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    fields = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        fields.append({"field": ".".join(loc) or "body", "message": err.get("msg", "invalid")})
    return fields


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def on_service_error(_: Request, exc: ServiceError) -> JSONResponse:
        response = error_response(
            STATUS[exc.kind], exc.body.message, exc.kind.value, exc.body.details or None
        )
        request_id = (exc.body.details or {}).get("requestId")
        if exc.kind is ErrorKind.INTERNAL and isinstance(request_id, str):
            response.headers[REQUEST_ID_HEADER] = request_id
        return response

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = _field_errors(exc)
        message = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return error_response(400, f"Invalid request: {message}", "validation", {"fields": fields})

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = ErrorKind.TOO_LARGE.value if exc.status_code == 413 else "http"
        body = error_body(request.url.path, str(exc.detail), kind)
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug is a 500 with an id to quote, logged with its traceback; only a service or
        # the bus being unreachable (a ServiceError) is 503.
        request_id = uuid.uuid4().hex
        log.error(
            "unexpected error in %s %s (request id %s)",
            request.method, request.url.path, request_id, exc_info=exc,
        )  # fmt: skip
        message = f"Internal error (request id {request_id})"
        body = error_body(
            request.url.path, message, ErrorKind.INTERNAL.value, {"requestId": request_id}
        )
        response = JSONResponse(body, status_code=500)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
