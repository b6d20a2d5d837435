"""The OpenAPI document tells the truth about errors.

FastAPI declares 422 for every operation with parameters, but the gateway answers invalid
input with 400 (the seed documents' status) and the error schema; every route can also answer
500 (a bug, with a request id) and 503 (a service unreachable). The document is rewritten once
to say so, so SDK generators and clients see the statuses they will get.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error", "kind"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, for humans"},
        "kind": {
            "type": "string",
            "description": "validation, unauthorized, forbidden, not_found, conflict, "
            "too_large, rate_limited, unavailable, internal, …",
        },
        "details": {"type": "object", "description": "Named fields, request id, …"},
    },
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
ALWAYS = {
    "500": "A bug: the answer carries a request id (also in X-Request-ID) that is in the log",
    "503": "A service or the message bus is unreachable; try again",
}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# Credentials of every dialect: an operation that reads one can answer 401.
AUTH_HEADERS = {"x-api-key", "authorization", "x-agent-key", "x-agent-token", "x-agent-id"}


def truthful(schema: dict[str, Any]) -> dict[str, Any]:
    """The document with 400 instead of 422, the error schema on every error, 500 and 503."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for path in schema.get("paths", {}).values():
        for method, operation in path.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", {"description": "Invalid request (the field is named)"})
            parameters = operation.get("parameters", [])
            headers = {p["name"].lower() for p in parameters if p.get("in") == "header"}
            if headers & AUTH_HEADERS:
                responses.setdefault("401", {"description": "Missing or invalid credentials"})
            if any(p.get("in") == "path" for p in parameters):
                responses.setdefault("404", {"description": "Not found (or not visible to you)"})
            for code, description in ALWAYS.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code[0] in "45":
                    response["content"] = ERROR_CONTENT
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return schema


def install_truthful_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = truthful(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
