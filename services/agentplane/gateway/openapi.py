"""The OpenAPI document tells the truth about errors.

FastAPI declares 422 for every operation with parameters, but the gateway answers invalid
input with 400 (the seed documents' status) and the error schema. The document is rewritten
once so that every operation lists every status it can answer, each with its error schema:

- 500 (a bug, with a request id) and 503 (a service unreachable) everywhere;
- 400 where the operation takes input; 413 and 408 where it takes a body (BodyLimit);
- 401 where it reads a credential header; 404 where its path names something;
- whatever its dependencies declare with `@declares` (429 of a rate-limited workspace, 401
  and 403 of an agent credential, …), so a new route that uses them inherits their statuses;
  and the credential headers they read from the request themselves (`headers=`), listed as
  the optional string header parameters FastAPI would have listed for a `Header()` parameter;
- what the route itself declares in `responses=` (409, credentials in the body, …);
- 429 everywhere but /health and the docs (failed authentications throttle an address).

Headers of rate limiting (gateway/rate_limits.py, gateway/auth_throttle.py): every 429
requires `Retry-After`; every answer of an operation with a limit of its own (a route or
dependency that declares 429: a workspace's tier, an agent's limit) may carry
`X-RateLimit-Limit`, `-Remaining` and `-Reset` — not required, as an answer refused before
the limit is consulted (a wrong credential) has none, and neither has a route the deployment's
`AGENTPLANE_RATE_LIMIT_SCOPE` leaves unlimited.

Device routes (seed 003) answer errors as `{"success": false, "error"}` (`DeviceError`);
every other route as `{"error", "kind"}` (`Error`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.routing import BaseRoute

from agentplane.contracts.errors import ErrorKind
from agentplane.gateway.error_bodies import is_device_path
from agentplane.gateway.open_paths import is_open_path

# The services' error kinds (contracts) and those the gateway answers by itself: limits
# (`rate_limited`), a stalled body (`timeout`), a plain request on a WebSocket route
# (`upgrade_required`) and Starlette's own HTTP errors such as 405 (`http`).
GATEWAY_ERROR_KINDS = ("rate_limited", "timeout", "upgrade_required", "http")
ERROR_KINDS = tuple(kind.value for kind in ErrorKind) + GATEWAY_ERROR_KINDS

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error", "kind"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, for humans"},
        "kind": {
            "type": "string",
            "enum": list(ERROR_KINDS),
            "description": "What kind of failure, for programs: `deadline_exceeded` (503) "
            "means the request was never run, `unavailable` (503) that a service could not "
            "be reached, `internal` (500) a bug logged under `details.requestId`",
        },
        "details": {"type": "object", "description": "Named fields, request id, …"},
    },
}
DEVICE_ERROR_SCHEMA: dict[str, Any] = {
    "title": "DeviceError",
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"type": "boolean", "enum": [False]},
        "error": {"type": "string", "description": "What went wrong, for humans"},
    },
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
DEVICE_ERROR_CONTENT = {
    "application/json": {"schema": {"$ref": "#/components/schemas/DeviceError"}}
}
ALWAYS = {
    "500": "A bug: the answer carries a request id (also in X-Request-ID) that is in the log",
    "503": "A service or the message bus is unreachable; try again",
}
WITH_BODY = {
    "400": "Invalid request (the field is named), or JSON nested too deep",
    "408": "The request body stopped arriving",
    "413": "Request body larger than 1 MiB",
}
# Any route but the open ones (gateway/auth_throttle.py).
THROTTLED = (
    "Too many requests: a rate limit is spent, or too many failed authentications came from "
    "this address; Retry-After says when to try again"
)
RATE_LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "RetryAfter": {
        "description": "Seconds until a request from this client may be admitted again",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimitLimit": {
        "description": "Requests the limit admits in any 60 s",
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimitRemaining": {
        "description": "Requests left in the current 60 s window",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimitReset": {
        "description": "Unix time (s) when the oldest counted request leaves the window; on a "
        "429, when the request would be admitted",
        "schema": {"type": "integer", "minimum": 0},
    },
}
# On every answer of a limited operation, and on every 429.
_RATE_LIMIT_REFS = {
    f"X-RateLimit-{name}": {"$ref": f"#/components/headers/RateLimit{name}"}
    for name in ("Limit", "Remaining", "Reset")
}
_RETRY_AFTER_REF = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# Credentials of every dialect: an operation that reads one can answer 401.
AUTH_HEADERS = {"x-api-key", "authorization", "x-agent-key", "x-agent-token", "x-agent-id"}
_DECLARED = "__openapi_statuses__"
_HEADERS = "__openapi_headers__"
F = TypeVar("F", bound=Callable[..., Any])
# Where FastAPI lists a parameter: path ones first, then query, header, cookie.
_PARAMETER_ORDER = {"path": 0, "query": 1, "header": 2, "cookie": 3}


def declares(statuses: dict[int, str], headers: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Mark a dependency with the error statuses it answers and the optional headers it reads
    from `request.headers` itself; every route using it lists them.

    A credential header read by hand instead of as a FastAPI `Header()` parameter: FastAPI
    re-derives a parameter's annotation (sequence? model? aliases?) on every request, a
    tenth of the gateway's CPU for an authenticated request.
    """

    def mark(function: F) -> F:
        setattr(function, _DECLARED, {str(code): text for code, text in statuses.items()})
        setattr(function, _HEADERS, tuple(headers))
        return function

    return mark


def header_parameter(name: str) -> dict[str, Any]:
    """The OpenAPI parameter FastAPI lists for `name: Annotated[str | None, Header()] = None`."""
    title = "-".join(part.capitalize() for part in name.split("-"))
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}], "title": title}
    return {"name": name, "in": "header", "required": False, "schema": schema}


def documented_body(model: type[BaseModel], closed: bool = True) -> dict[str, Any]:
    """`openapi_extra` of a route that parses its JSON body itself (to answer a seed
    document's own messages): the model documents the body all the same. `closed` when the
    handler refuses unknown fields."""
    schema = model.model_json_schema()
    # Inline only: a `$defs` reference would point into the document's root and dangle.
    if "$defs" in schema:
        raise ValueError(f"{model.__name__}: nested models need components, not $defs")
    if closed:
        schema["additionalProperties"] = False
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


def _dependency_statuses(dependant: Dependant) -> dict[str, str]:
    found: dict[str, str] = {}
    stack = [dependant]
    while stack:
        current = stack.pop()
        found.update(getattr(current.call, _DECLARED, {}))
        stack.extend(current.dependencies)
    return found


def _dependency_headers(dependant: Dependant) -> list[str]:
    """Declared headers in FastAPI's order of flat parameters: depth first, in order."""
    found: list[str] = []
    for sub in dependant.dependencies:
        found += [h for h in getattr(sub.call, _HEADERS, ()) if h not in found]
        found += [h for h in _dependency_headers(sub) if h not in found]
    return found


def declared_by_dependencies(routes: Iterable[BaseRoute]) -> dict[tuple[str, str], dict[str, str]]:
    """(path, method) → statuses the route's dependencies declare."""
    return {key: statuses for key, (statuses, _) in _declared(routes).items()}


def _declared(
    routes: Iterable[BaseRoute],
) -> dict[tuple[str, str], tuple[dict[str, str], list[str]]]:
    """(path, method) → (statuses, headers) the route's dependencies declare."""
    declared = {}
    # Included routers are resolved lazily (FastAPI walks them the same way for the document).
    for context in routing.iter_route_contexts(list(routes)):
        if isinstance(context.original_route, routing.APIRoute):
            found = (
                _dependency_statuses(context.dependant),
                _dependency_headers(context.dependant),
            )
            for method in context.methods or ():
                declared[(context.path_format, method.lower())] = found
    return declared


def _with_headers(schema: dict[str, Any], headers: dict[tuple[str, str], list[str]]) -> None:
    for (path, method), names in headers.items():
        operation = schema.get("paths", {}).get(path, {}).get(method)
        if operation is None or not names:
            continue
        parameters = operation.setdefault("parameters", [])
        listed = {(p["in"], p["name"].lower()) for p in parameters}
        parameters += [header_parameter(n) for n in names if ("header", n) not in listed]
        # Stable: each kind keeps its own order, declared headers after the route's own.
        parameters.sort(key=lambda p: _PARAMETER_ORDER.get(p["in"], 4))


def truthful(
    schema: dict[str, Any], declared: dict[tuple[str, str], dict[str, str]] | None = None
) -> dict[str, Any]:
    """The document with every status each operation answers, each with its error schema."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["DeviceError"] = DEVICE_ERROR_SCHEMA
    schema["components"].setdefault("headers", {}).update(RATE_LIMIT_HEADERS)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            parameters = operation.get("parameters", [])
            if parameters or "requestBody" in operation:
                responses.setdefault("400", {"description": "Invalid request (the field is named)"})
            if "requestBody" in operation:
                for code, description in WITH_BODY.items():
                    responses.setdefault(code, {"description": description})
            headers = {p["name"].lower() for p in parameters if p.get("in") == "header"}
            if headers & AUTH_HEADERS:
                responses.setdefault("401", {"description": "Missing or invalid credentials"})
            if any(p.get("in") == "path" for p in parameters):
                responses.setdefault("404", {"description": "Not found (or not visible to you)"})
            for code, description in (declared or {}).get((path, method), {}).items():
                responses.setdefault(code, {"description": description})
            # A limit of the operation's own (not only the throttle of every route).
            limited = "429" in responses
            if not is_open_path(path):
                responses.setdefault("429", {"description": THROTTLED})
            for code, description in ALWAYS.items():
                responses.setdefault(code, {"description": description})
            content = DEVICE_ERROR_CONTENT if is_device_path(path) else ERROR_CONTENT
            for code, response in responses.items():
                if code[0] in "45":
                    response["content"] = content
                if limited or code == "429":
                    response.setdefault("headers", {}).update(_RATE_LIMIT_REFS)
                if code == "429":
                    response["headers"].update(_RETRY_AFTER_REF)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return schema


def install_truthful_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            declared = _declared(app.routes)
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            # Before `truthful`: a credential header is what makes an operation list 401.
            _with_headers(schema, {key: headers for key, (_, headers) in declared.items()})
            app.openapi_schema = truthful(
                schema, {key: statuses for key, (statuses, _) in declared.items()}
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
