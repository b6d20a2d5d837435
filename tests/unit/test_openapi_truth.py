"""The OpenAPI document declares the statuses the gateway answers with, with the error schema.

Rule for every route (new ones included): no 422 (invalid input is 400); every 4xx/5xx has the
`Error` schema; 500 and 503 are always declared; a route reading a credential header declares
401; a route with path parameters declares 404.
"""

from __future__ import annotations

from typing import Any

import pytest

from agentplane.gateway.app import create_app
from agentplane.gateway.openapi import AUTH_HEADERS, METHODS
from agentplane.settings import Settings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_declares_its_error_statuses(document: dict[str, Any]) -> None:
    problems = []
    for name, operation in _operations(document):
        responses = operation["responses"]
        parameters = operation.get("parameters", [])
        if "422" in responses:
            problems.append(f"{name}: declares 422 (the gateway answers 400)")
        for code in ("500", "503"):
            if code not in responses:
                problems.append(f"{name}: missing {code}")
        headers = {p["name"].lower() for p in parameters if p.get("in") == "header"}
        if headers & AUTH_HEADERS and "401" not in responses:
            problems.append(f"{name}: reads a credential but does not declare 401")
        if any(p.get("in") == "path" for p in parameters) and "404" not in responses:
            problems.append(f"{name}: has path parameters but does not declare 404")
        if (parameters or "requestBody" in operation) and "400" not in responses:
            problems.append(f"{name}: takes input but does not declare 400")
        for code, response in responses.items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if code[0] in "45" and schema.get("$ref") != "#/components/schemas/Error":
                problems.append(f"{name}: {code} without the Error schema")
    assert not problems, "\n".join(problems)


def test_the_error_schema_is_the_one_answers_use(document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "kind"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
