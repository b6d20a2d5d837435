"""Workspace isolation and the error contract of the seed 000 endpoints."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


def key(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"], "Content-Type": "application/json"}


def new_token() -> str:
    return "agent_tok_" + uuid.uuid4().hex


def register(http: httpx.Client, ws: dict[str, Any], name: str = "web-server-1") -> tuple[str, str]:
    agent_id, token = str(uuid.uuid4()), new_token()
    response = http.post(
        "/v1/agents/register",
        json={"agentId": agent_id, "token": token, "label": "production", "name": name},
        headers=key(ws),
    )
    assert response.status_code == 201, response.text
    return agent_id, token


def heartbeat(http: httpx.Client, agent_id: str, token: str) -> httpx.Response:
    return http.post(
        "/v1/agents/heartbeat",
        json={"agentId": agent_id, "token": token},
        headers={"Content-Type": "application/json"},
    )


def assert_error(response: httpx.Response, status: int, kind: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) <= {"error", "kind", "details"}, body
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("kind"), str) and body["kind"], body
    if kind is not None:
        assert body["kind"] == kind, body
    return body


@pytest.fixture
def other(http: httpx.Client, system: RunningSystem) -> dict[str, Any]:
    """A second workspace (B)."""
    return create_workspace(http, system.admin_token)


# -- isolation ----------------------------------------------------------------------------


def test_other_workspace_cannot_see_agent(
    http: httpx.Client, workspace: dict[str, Any], other: dict[str, Any]
) -> None:
    agent_id, token = register(http, workspace)
    assert heartbeat(http, agent_id, token).status_code == 200

    assert_error(http.get(f"/v1/agents/{agent_id}", headers=key(other)), 404)
    assert_error(http.get(f"/v1/agents/{agent_id}/audit-logs", headers=key(other)), 404)
    assert http.get("/v1/agents", headers=key(other)).json() == []
    assert http.get("/v1/agents/online", headers=key(other)).json() == []

    # A still sees its agent everywhere.
    assert http.get(f"/v1/agents/{agent_id}", headers=key(workspace)).status_code == 200
    assert [a["id"] for a in http.get("/v1/agents", headers=key(workspace)).json()] == [agent_id]
    online = http.get("/v1/agents/online", headers=key(workspace)).json()
    assert [a["id"] for a in online] == [agent_id]


def test_not_found_looks_the_same_for_foreign_and_unknown_agents(
    http: httpx.Client, workspace: dict[str, Any], other: dict[str, Any]
) -> None:
    agent_id, _ = register(http, workspace)
    foreign = assert_error(http.get(f"/v1/agents/{agent_id}", headers=key(other)), 404)
    unknown = assert_error(http.get(f"/v1/agents/{uuid.uuid4()}", headers=key(other)), 404)
    assert foreign == unknown


def test_provisioned_agent_isolated(
    http: httpx.Client, workspace: dict[str, Any], other: dict[str, Any]
) -> None:
    prov = http.post(
        "/v1/agents/provision",
        json={"clientType": "cursor", "label": "staging", "name": "cursor-agent-1"},
        headers=key(workspace),
    ).json()
    agent_id = prov["agentId"]
    assert_error(http.get(f"/v1/agents/{agent_id}", headers=key(other)), 404)
    assert_error(http.get(f"/v1/agents/{agent_id}/audit-logs", headers=key(other)), 404)
    assert agent_id not in {a["id"] for a in http.get("/v1/agents", headers=key(other)).json()}

    # B cannot take over A's provisioned agent, even holding its token.
    taken = http.post(
        "/v1/agents/register",
        json={"agentId": agent_id, "token": prov["token"], "name": "hijack"},
        headers=key(other),
    )
    assert taken.status_code in (401, 404, 409), taken.text
    assert_error(taken, taken.status_code)
    assert prov["token"] not in taken.text
    assert_error(http.get(f"/v1/agents/{agent_id}", headers=key(other)), 404)
    # ...and A can still complete the registration itself.
    done = http.post(
        "/v1/agents/register",
        json={"agentId": agent_id, "token": prov["token"]},
        headers=key(workspace),
    )
    assert done.status_code == 201, done.text
    assert done.json()["agent"]["name"] == "cursor-agent-1"
    assert done.json()["agent"]["workspaceId"] == workspace["workspaceId"]


def test_registered_agent_id_is_taken_across_workspaces(
    http: httpx.Client, workspace: dict[str, Any], other: dict[str, Any]
) -> None:
    agent_id, token = register(http, workspace)
    response = http.post(
        "/v1/agents/register",
        json={"agentId": agent_id, "token": new_token(), "name": "web-server-1"},
        headers=key(other),
    )
    assert_error(response, 409)
    # Nothing leaked into B, and A's agent still belongs to A.
    assert http.get("/v1/agents", headers=key(other)).json() == []
    assert http.get(f"/v1/agents/{agent_id}", headers=key(workspace)).status_code == 200
    assert heartbeat(http, agent_id, token).status_code == 200


def test_heartbeat_with_another_agents_token_is_401(
    http: httpx.Client, workspace: dict[str, Any], other: dict[str, Any]
) -> None:
    a_id, a_token = register(http, workspace)
    b_id, b_token = register(http, other)
    assert_error(heartbeat(http, a_id, b_token), 401)
    assert_error(heartbeat(http, b_id, a_token), 401)
    assert http.get("/v1/agents/online", headers=key(workspace)).json() == []
    assert http.get("/v1/agents/online", headers=key(other)).json() == []


def test_same_names_in_two_workspaces_are_independent(
    http: httpx.Client, workspace: dict[str, Any], other: dict[str, Any]
) -> None:
    a_id, _ = register(http, workspace, "web-server-1")
    b_id, _ = register(http, other, "web-server-1")
    assert [a["id"] for a in http.get("/v1/agents", headers=key(workspace)).json()] == [a_id]
    assert [a["id"] for a in http.get("/v1/agents", headers=key(other)).json()] == [b_id]
    b_detail = http.get(f"/v1/agents/{b_id}", headers=key(other)).json()
    assert b_detail["workspaceId"] == other["workspaceId"]


# -- authentication errors ----------------------------------------------------------------

KEYED = [
    ("POST", "/v1/agents/provision", {"clientType": "cursor"}),
    ("POST", "/v1/agents/register", {"agentId": str(uuid.uuid4()), "token": "t" * 40}),
    ("GET", "/v1/agents", None),
    ("GET", "/v1/agents/online", None),
    ("GET", f"/v1/agents/{uuid.uuid4()}", None),
    ("GET", f"/v1/agents/{uuid.uuid4()}/audit-logs", None),
]
BAD_KEYS = ["", "pc_your_api_key", "not-a-key", "pc_" + "A" * 49, "Bearer pc_x"]


@pytest.mark.parametrize(("method", "path", "body"), KEYED, ids=[f"{m} {p}" for m, p, _ in KEYED])
def test_missing_or_invalid_api_key_is_401(
    http: httpx.Client, workspace: dict[str, Any], method: str, path: str, body: Any
) -> None:
    assert_error(http.request(method, path, json=body), 401, "unauthorized")
    for bad in BAD_KEYS:
        response = http.request(method, path, json=body, headers={"x-api-key": bad})
        assert_error(response, 401, "unauthorized")
    # A key of one workspace with a changed character is not a key.
    real = workspace["apiKey"]
    tampered = real[:-1] + ("a" if real[-1] != "a" else "b")
    response = http.request(method, path, json=body, headers={"x-api-key": tampered})
    assert_error(response, 401, "unauthorized")


def test_api_key_in_authorization_header_is_not_accepted(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    response = http.get("/v1/agents", headers={"Authorization": f"Bearer {workspace['apiKey']}"})
    assert_error(response, 401)


def test_heartbeat_needs_no_api_key_but_ignores_one(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = register(http, workspace)
    assert heartbeat(http, agent_id, token).json() == {"success": True}
    with_key = http.post(
        "/v1/agents/heartbeat", json={"agentId": agent_id, "token": token}, headers=key(workspace)
    )
    assert with_key.status_code == 200, with_key.text


# -- request errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/v1/agents/provision", "/v1/agents/register", "/v1/agents/heartbeat"]
)
def test_malformed_json_is_400(http: httpx.Client, workspace: dict[str, Any], path: str) -> None:
    response = http.post(path, content=b"{not json", headers=key(workspace))
    assert_error(response, 400, "validation")


@pytest.mark.parametrize(
    "path", ["/v1/agents/provision", "/v1/agents/register", "/v1/agents/heartbeat"]
)
def test_non_object_body_is_400(http: httpx.Client, workspace: dict[str, Any], path: str) -> None:
    response = http.post(path, json=["cursor"], headers=key(workspace))
    assert_error(response, 400, "validation")


def test_validation_error_details_name_every_field(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    response = http.post(
        "/v1/agents/register",
        json={"agentId": "nope", "token": "short", "name": "n" * 101},
        headers=key(workspace),
    )
    body = assert_error(response, 400, "validation")
    fields = body["details"]["fields"]
    assert isinstance(fields, list)
    for item in fields:
        assert isinstance(item.get("field"), str) and item["field"]
        assert isinstance(item.get("message"), str) and item["message"]
    assert {"agentId", "token", "name"} <= {f["field"] for f in fields}


def test_errors_never_echo_a_submitted_token(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, token = register(http, workspace)
    wrong = new_token()
    for response in (
        heartbeat(http, agent_id, wrong),
        heartbeat(http, str(uuid.uuid4()), token),
        http.post(
            "/v1/agents/register",
            json={"agentId": agent_id, "token": token},
            headers=key(workspace),
        ),
    ):
        assert response.status_code in (401, 409), response.text
        assert token not in response.text and wrong not in response.text


def test_unknown_route_has_error_body(http: httpx.Client, workspace: dict[str, Any]) -> None:
    response = http.get("/v1/nothing-here", headers=key(workspace))
    assert_error(response, 404)
