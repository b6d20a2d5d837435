"""Operator side: `POST /v1/admin/workspaces`, `agentplane workspace create`, `/health`."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

WORKSPACE_KEYS = {"workspaceId", "workspaceName", "tier", "apiKey"}


def unique_name() -> str:
    return f"ws-{uuid.uuid4().hex[:12]}"


def admin(system: RunningSystem) -> dict[str, str]:
    return {"Authorization": f"Bearer {system.admin_token}"}


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("kind"), str) and body["kind"], body
    return body


def assert_invalid(response: httpx.Response, field: str) -> None:
    body = assert_error(response, 400)
    named = [f.get("field") for f in body.get("details", {}).get("fields", [])]
    assert field in named, f"expected {field!r} among invalid fields {named}: {body}"


def assert_workspace(body: dict[str, Any], name: str, tier: str) -> None:
    assert set(body) == WORKSPACE_KEYS, body
    assert isinstance(body["workspaceId"], str) and body["workspaceId"].startswith("ws_")
    assert body["workspaceName"] == name
    assert body["tier"] == tier
    assert isinstance(body["apiKey"], str) and body["apiKey"].startswith("pc_")
    assert len(body["apiKey"]) >= 32


def assert_key_works(http: httpx.Client, api_key: str) -> None:
    response = http.get("/v1/agents", headers={"x-api-key": api_key})
    assert response.status_code == 200, response.text
    assert response.json() == []


@pytest.mark.parametrize("tier", ["free", "pro", "enterprise"])
def test_create_workspace_each_tier(http: httpx.Client, system: RunningSystem, tier: str) -> None:
    name = unique_name()
    response = http.post(
        "/v1/admin/workspaces", json={"name": name, "tier": tier}, headers=admin(system)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert_workspace(body, name, tier)
    assert_key_works(http, body["apiKey"])


def test_create_workspace_defaults_to_free(http: httpx.Client, system: RunningSystem) -> None:
    name = unique_name()
    response = http.post("/v1/admin/workspaces", json={"name": name}, headers=admin(system))
    assert response.status_code == 201, response.text
    assert_workspace(response.json(), name, "free")


def test_workspaces_get_distinct_ids_and_keys(http: httpx.Client, system: RunningSystem) -> None:
    a = create_workspace(http, system.admin_token)
    b = create_workspace(http, system.admin_token)
    assert a["workspaceId"] != b["workspaceId"]
    assert a["apiKey"] != b["apiKey"]


def test_duplicate_workspace_name_is_409(http: httpx.Client, system: RunningSystem) -> None:
    name = unique_name()
    first = create_workspace(http, system.admin_token, "pro", name)
    again = http.post(
        "/v1/admin/workspaces", json={"name": name, "tier": "free"}, headers=admin(system)
    )
    assert_error(again, 409)
    assert first["apiKey"] not in again.text
    # The first workspace and its key are untouched.
    assert_key_works(http, first["apiKey"])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
    ],
    ids=["missing", "wrong", "empty", "basic"],
)
def test_create_workspace_needs_admin_token(
    http: httpx.Client, system: RunningSystem, headers: dict[str, str]
) -> None:
    name = unique_name()
    response = http.post("/v1/admin/workspaces", json={"name": name}, headers=headers)
    assert_error(response, 401)
    # The name is still free: nothing was created.
    create_workspace(http, system.admin_token, name=name)


def test_workspace_api_key_is_not_an_admin_token(
    http: httpx.Client, system: RunningSystem, workspace: dict[str, Any]
) -> None:
    response = http.post(
        "/v1/admin/workspaces",
        json={"name": unique_name()},
        headers={"Authorization": f"Bearer {workspace['apiKey']}"},
    )
    assert_error(response, 401)
    with_key = http.post(
        "/v1/admin/workspaces",
        json={"name": unique_name()},
        headers={"x-api-key": workspace["apiKey"]},
    )
    assert_error(with_key, 401)


def test_admin_token_is_not_a_workspace_key(http: httpx.Client, system: RunningSystem) -> None:
    response = http.get("/v1/agents", headers={"x-api-key": system.admin_token})
    assert_error(response, 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tier": "free"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"name": "ok-name", "tier": "gold"}, "tier"),
    ],
    ids=["missing-name", "empty-name", "long-name", "bad-tier"],
)
def test_create_workspace_validation(
    http: httpx.Client, system: RunningSystem, body: dict[str, Any], field: str
) -> None:
    if "name" in body and body["name"] == "ok-name":
        body = {**body, "name": unique_name()}
    response = http.post("/v1/admin/workspaces", json=body, headers=admin(system))
    assert_invalid(response, field)


def test_cli_workspace_create(http: httpx.Client, system: RunningSystem) -> None:
    name = unique_name()
    result = system.cli("workspace", "create", "--name", name, "--tier", "pro")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert_workspace(body, name, "pro")
    assert_key_works(http, body["apiKey"])


def test_cli_workspace_create_defaults_to_free(http: httpx.Client, system: RunningSystem) -> None:
    name = unique_name()
    result = system.cli("workspace", "create", "--name", name)
    assert result.returncode == 0, result.stderr
    assert_workspace(json.loads(result.stdout), name, "free")


def test_cli_workspace_create_duplicate_fails(http: httpx.Client, system: RunningSystem) -> None:
    name = unique_name()
    create_workspace(http, system.admin_token, name=name)
    result = system.cli("workspace", "create", "--name", name)
    assert result.returncode != 0
    assert result.stdout.strip() == ""
    assert "already exists" in result.stderr


def test_health(http: httpx.Client) -> None:
    response = http.get("/health")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


def test_health_of_one_service(http: httpx.Client) -> None:
    for service in ("registry", "heartbeat", "messaging", "diagnostics", "lifecycle", "webhooks"):
        response = http.get(f"/health/{service}")
        assert response.status_code == 200, response.text
        assert response.json() == {"service": service, "status": "ok"}
    unknown = http.get("/health/nope")
    assert unknown.status_code == 404 and unknown.json()["kind"] == "not_found"
