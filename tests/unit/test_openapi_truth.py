"""The OpenAPI document declares every status the gateway answers with, with the error schema.

The rule, for every operation of every router (routes added later included):
- no 422 (invalid input is 400);
- 500 and 503 always;
- 400 when it takes input (parameters or a body); 408 and 413 when it takes a body;
- 401 when it reads a credential header; 404 when its path has parameters;
- every status its dependencies declare with `gateway.openapi.declares` (401 of every
  authentication, 403, 429 of rate-limited workspaces, …);
- every 4xx/5xx with its dialect's error schema: `DeviceError` under /api/agent/, else `Error`.
Statuses only a route knows (409 of a conflict, 401 of a credential in the body) go in its
`responses=`; the Schemathesis run (tests/e2e/test_openapi_fuzz.py) finds the ones forgotten.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, routing

import agentplane.gateway as gateway_package
from agentplane.contracts.errors import ErrorKind
from agentplane.gateway.app import create_app
from agentplane.gateway.open_paths import is_open_path
from agentplane.gateway.openapi import AUTH_HEADERS, METHODS, declared_by_dependencies
from agentplane.settings import Settings


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings())


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _required(path: str, operation: dict[str, Any]) -> dict[str, str]:
    """status → why this operation must declare it."""
    required = {"500": "every route (a bug)", "503": "every route (a service unreachable)"}
    parameters = operation.get("parameters", [])
    if parameters or "requestBody" in operation:
        required["400"] = "it takes input"
    if "requestBody" in operation:
        required["408"] = "it takes a body (BodyLimit: a stalled body)"
        required["413"] = "it takes a body (BodyLimit: over 1 MiB)"
    headers = {p["name"].lower() for p in parameters if p.get("in") == "header"}
    if headers & AUTH_HEADERS:
        required["401"] = (
            f"it reads a credential header ({', '.join(sorted(headers & AUTH_HEADERS))})"
        )
    if any(p.get("in") == "path" for p in parameters):
        required["404"] = "its path names something"
    if not is_open_path(path):
        required["429"] = "too many failed authentications refuse an address on every route"
    return required


def test_every_operation_declares_its_error_statuses(
    app: FastAPI, document: dict[str, Any]
) -> None:
    by_dependencies = declared_by_dependencies(app.routes)
    problems = []
    for path, method, operation in _operations(document):
        name = f"{method.upper()} {path}"
        responses = operation["responses"]
        if "422" in responses:
            problems.append(f"{name}: declares 422 (the gateway answers 400)")
        required = _required(path, operation)
        for code in by_dependencies.get((path, method), {}):
            required.setdefault(code, "a dependency of the route declares it")
        for code, why in sorted(required.items()):
            if code not in responses:
                problems.append(f"{name}: missing {code} ({why})")
        schema_name = "DeviceError" if path.startswith("/api/agent/") else "Error"
        for code, response in responses.items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if code[0] in "45" and schema.get("$ref") != f"#/components/schemas/{schema_name}":
                problems.append(f"{name}: {code} without the {schema_name} schema")
    assert not problems, "\n".join(problems)


def test_dependencies_declare_what_they_answer(app: FastAPI) -> None:
    declared = declared_by_dependencies(app.routes)
    assert declared[("/api/agents", "post")]["429"]  # seed 004: rate-limited workspace
    assert declared[("/api/agent/heartbeat", "post")]["401"]  # seed 003 device credentials
    assert declared[("/v1/agents", "get")]["401"]  # workspace key


RATE_LIMIT_HEADERS = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}


def _own_limit(app: FastAPI) -> set[tuple[str, str]]:
    """Operations with a limit of their own: the route or a dependency declares 429."""
    limited = {key for key, codes in declared_by_dependencies(app.routes).items() if "429" in codes}
    # Included routers are resolved lazily, as gateway/openapi.py walks them.
    for context in routing.iter_route_contexts(list(app.routes)):
        route = context.original_route
        if isinstance(route, routing.APIRoute) and 429 in route.responses:
            limited |= {(context.path_format, m.lower()) for m in context.methods or ()}
    return limited


def test_rate_limit_headers_are_declared_where_answered(
    app: FastAPI, document: dict[str, Any]
) -> None:
    """Every 429 requires Retry-After (the throttle's and every limit's carry it); every
    answer of an operation with a limit of its own may carry X-RateLimit-* (the headers
    middleware adds them to errors too)."""
    limited = _own_limit(app)
    assert ("get", "/v1/agents") not in limited  # the set is keyed (path, method)
    assert ("/v1/agents", "get") in limited and ("/api/agents", "post") in limited
    assert ("/v1/agents/heartbeat", "post") in limited  # the route's own responses=
    assert ("/api/agents/{agent_uuid}/heartbeat", "post") not in limited  # the control path
    components = document["components"]["headers"]
    assert components["RetryAfter"]["required"] is True
    problems = []
    for path, method, operation in _operations(document):
        for code, response in operation["responses"].items():
            headers = response.get("headers", {})
            names = set(headers)
            if code == "429" and "Retry-After" not in names:
                problems.append(f"{method.upper()} {path} {code}: no Retry-After")
            wanted = (path, method) in limited or code == "429"
            if wanted and not RATE_LIMIT_HEADERS <= names:
                problems.append(f"{method.upper()} {path} {code}: no X-RateLimit-*")
            if not wanted and names & RATE_LIMIT_HEADERS:
                problems.append(f"{method.upper()} {path} {code}: X-RateLimit-* of no limit")
            for name in names & (RATE_LIMIT_HEADERS | {"Retry-After"}):
                ref = headers[name]["$ref"].removeprefix("#/components/headers/")
                assert ref in components, (path, method, code, name)
    assert not problems, "\n".join(problems)


def test_the_error_schemas_are_the_ones_answers_use(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["Error"]["required"] == ["error", "kind"]
    assert schemas["DeviceError"]["required"] == ["success", "error"]
    assert "HTTPValidationError" not in schemas


def test_the_error_kinds_list_every_kind_an_answer_can_carry(document: dict[str, Any]) -> None:
    """Clients branch on `kind` (e.g. `deadline_exceeded`: nothing changed, retry safely);
    every kind a service or the gateway itself puts in an answer is in the schema's enum."""
    listed = set(document["components"]["schemas"]["Error"]["properties"]["kind"]["enum"])
    assert {kind.value for kind in ErrorKind} <= listed
    gateway = Path(gateway_package.__file__).parent
    written: set[str] = set()
    for source in gateway.rglob("*.py"):
        text = source.read_text()
        written |= set(
            re.findall(r'(?:error_body|error_response|send_error)\([^()]*?"([a-z_]+)"\)', text)
        )
        for chosen in re.findall(r"kind = ([^\n]*)", text):  # kind = "a" if … else "b"
            written |= set(re.findall(r'"([a-z_]+)"', chosen))
    # The scan finds what it looks for (else the last check proves nothing).
    assert {"rate_limited", "too_large", "upgrade_required", "timeout", "http"} <= written
    assert written <= listed, written - listed


# Writes that take no body at all: the path and the credential say everything.
BODILESS = {
    ("post", "/v1/agents/{agent_id}/api-key/rotate"),  # the server picks the new key
    ("post", "/v1/services/{service_id}/check"),  # a check now, of the service named
}


def test_every_write_documents_its_body(document: dict[str, Any]) -> None:
    """A route that parses its body itself (to answer a seed document's own messages) still
    documents it (`gateway.openapi.documented_body`): clients and fuzzers must know it."""
    undocumented = [
        f"{method.upper()} {path}"
        for path, method, operation in _operations(document)
        if method in ("post", "put", "patch")
        and "requestBody" not in operation
        and (method, path) not in BODILESS
    ]
    assert not undocumented, f"writes without a documented body: {undocumented}"
    for method, path in BODILESS:
        assert "requestBody" not in document["paths"][path][method], (method, path)


def test_pap_reports_document_their_fields(document: dict[str, Any]) -> None:
    def body(path: str) -> dict[str, Any]:
        operation = document["paths"][path]["post"]
        return operation["requestBody"]["content"]["application/json"]["schema"]

    beat = body("/api/agents/{agent_uuid}/heartbeat")
    assert beat["required"] == ["mode", "uptime_seconds"]
    assert beat["properties"]["mode"]["enum"] == ["EMERGENCY", "IDLE", "SLEEP"]
    assert beat["additionalProperties"] is False  # the gateway refuses other fields
    metrics = body("/api/agents/{agent_uuid}/metrics")
    assert set(metrics["required"]) == {"cpu_percent", "memory_mb", "requests_handled"}


def test_credential_headers_read_by_hand_are_listed_as_header_parameters(
    document: dict[str, Any],
) -> None:
    """The authentication dependencies read their headers from the request themselves (no
    FastAPI `Header()`): each operation using one still lists them, as FastAPI would have."""
    expected = {
        ("/v1/agents/{agent_id}/messages/send", "post"): {"x-api-key"},
        ("/v1/admin/workspaces", "post"): {"authorization"},
        ("/api/agent/update", "get"): {"x-agent-key", "x-agent-id", "x-request-timestamp"},
        ("/api/v1/agents", "get"): {"x-api-key", "authorization"},
    }
    for (path, method), headers in expected.items():
        parameters = document["paths"][path][method].get("parameters", [])
        listed = {p["name"]: p for p in parameters if p["in"] == "header"}
        assert headers <= set(listed), (path, method, sorted(listed))
        for name in headers:
            assert listed[name]["required"] is False
            assert {"type": "string"} in listed[name]["schema"]["anyOf"]
    # Every operation behind a workspace key lists it (48 when this was written).
    keyed = [
        (path, method)
        for path, method, operation in _operations(document)
        if any(p["name"] == "x-api-key" for p in operation.get("parameters", []))
    ]
    assert len(keyed) >= 40
