"""Seed 000 (Agents API): token rotation, capabilities, orchestration view, expiring tokens.

Every request is made the way the seed document's curl examples make it: `x-api-key` and
`Content-Type: application/json` where the doc has them, no key on `rotate-token`, the doc's
JSON bodies with fresh ids. Each test uses its own workspace.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DOC_CAPABILITIES = [
    {"name": "gpu", "metadata": {"model": "A100", "vram": "80GB"}},
    {"name": "high-memory", "metadata": {"ram": "256GB"}},
]


# -- helpers ------------------------------------------------------------------------------


def key_headers(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"], "Content-Type": "application/json"}


def parse_ts(value: str) -> datetime:
    assert isinstance(value, str), value
    assert ISO_MS.match(value), f"not a seed-000 timestamp (YYYY-MM-DDTHH:MM:SS.mmmZ): {value!r}"
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def new_token() -> str:
    return "agent_tok_" + uuid.uuid4().hex


def registered(
    http: httpx.Client, ws: dict[str, Any], name: str = "web-server-1", label: str = "production"
) -> tuple[str, str]:
    agent_id, token = str(uuid.uuid4()), new_token()
    response = http.post(
        "/v1/agents/register",
        json={"agentId": agent_id, "token": token, "label": label, "name": name},
        headers=key_headers(ws),
    )
    assert response.status_code == 201, response.text
    return agent_id, token


def provisioned(http: httpx.Client, ws: dict[str, Any], **body: Any) -> dict[str, Any]:
    body.setdefault("clientType", "cursor")
    response = http.post("/v1/agents/provision", json=body, headers=key_headers(ws))
    assert response.status_code == 201, response.text
    return response.json()


def rotate(http: httpx.Client, body: Any) -> httpx.Response:
    # The doc's curl sends no API key: the current token is the proof.
    return http.post(
        "/v1/agents/rotate-token", json=body, headers={"Content-Type": "application/json"}
    )


def rotated(http: httpx.Client, agent_id: str, token: str) -> dict[str, Any]:
    response = rotate(http, {"agentId": agent_id, "currentToken": token})
    assert response.status_code == 200, response.text
    return response.json()


def heartbeat(http: httpx.Client, agent_id: str, token: str) -> httpx.Response:
    return http.post(
        "/v1/agents/heartbeat",
        json={"agentId": agent_id, "token": token},
        headers={"Content-Type": "application/json"},
    )


def post_capabilities(
    http: httpx.Client, ws: dict[str, Any], agent_id: str, body: Any
) -> httpx.Response:
    return http.post(f"/v1/agents/{agent_id}/capabilities", json=body, headers=key_headers(ws))


def set_capabilities(
    http: httpx.Client, ws: dict[str, Any], agent_id: str, capabilities: list[dict[str, Any]]
) -> None:
    response = post_capabilities(http, ws, agent_id, {"capabilities": capabilities})
    assert response.status_code == 200, response.text


def get(http: httpx.Client, ws: dict[str, Any], path: str) -> httpx.Response:
    return http.get(path, headers={"x-api-key": ws["apiKey"]})


def audit(http: httpx.Client, ws: dict[str, Any], agent_id: str) -> httpx.Response:
    response = get(http, ws, f"/v1/agents/{agent_id}/audit-logs")
    assert response.status_code == 200, response.text
    return response


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


def assert_no_token(response: httpx.Response, *tokens: str) -> None:
    for token in tokens:
        assert token not in response.text, f"full token leaked in {response.request.url}"


def near(value: datetime, expected: datetime, slack: float = 30.0) -> bool:
    return abs((value - expected).total_seconds()) <= slack


# -- rotate-token -------------------------------------------------------------------------


def test_rotate_token_doc_example(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, old = registered(http, workspace)
    before = datetime.now(UTC)
    response = rotate(http, {"agentId": agent_id, "currentToken": old})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"success", "newToken", "expiresAt"}, body
    assert body["success"] is True
    new = body["newToken"]
    assert isinstance(new, str) and new.startswith("agent_tok_") and new != old
    assert len(new) >= 32
    # Lifetime: AGENTPLANE_AGENT_TOKEN_TTL_SECONDS, 24 h by default.
    assert near(parse_ts(body["expiresAt"]), before + timedelta(hours=24))

    # The old token is rejected at once, for heartbeats and for rotation; the new one works.
    assert_error(heartbeat(http, agent_id, old), 401)
    assert heartbeat(http, agent_id, new).status_code == 200
    assert_error(rotate(http, {"agentId": agent_id, "currentToken": old}), 401)
    newer = rotated(http, agent_id, new)["newToken"]
    assert_error(heartbeat(http, agent_id, new), 401)
    assert heartbeat(http, agent_id, newer).status_code == 200


def test_rotate_token_of_provisioned_agent(http: httpx.Client, workspace: dict[str, Any]) -> None:
    prov = provisioned(http, workspace, label="staging", name="cursor-agent-1", ttlSeconds=600)
    body = rotated(http, prov["agentId"], prov["token"])
    assert parse_ts(body["expiresAt"]) > parse_ts(prov["expiresAt"])
    assert_error(heartbeat(http, prov["agentId"], prov["token"]), 401)
    assert heartbeat(http, prov["agentId"], body["newToken"]).status_code == 200


def test_rotate_token_shows_new_expiry_in_the_registry(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    prov = provisioned(http, workspace, name="short", ttlSeconds=3600)
    body = rotated(http, prov["agentId"], prov["token"])
    listed = get(http, workspace, "/v1/agents/expiring-tokens").json()["agents"]
    assert [(a["id"], a["tokenExpiresAt"]) for a in listed] == [
        (prov["agentId"], body["expiresAt"])
    ]


@pytest.mark.parametrize("case", ["wrong", "other_agent", "unknown_agent", "garbage"])
def test_rotate_token_with_invalid_current_token_is_401(
    http: httpx.Client, workspace: dict[str, Any], case: str
) -> None:
    agent_id, token = registered(http, workspace)
    _, other_token = registered(http, workspace, "other")
    target, presented = {
        "wrong": (agent_id, token[:-1] + ("x" if token[-1] != "x" else "y")),
        "other_agent": (agent_id, other_token),
        "unknown_agent": (str(uuid.uuid4()), token),
        "garbage": (agent_id, "agent_tok_old_token"),
    }[case]
    response = rotate(http, {"agentId": target, "currentToken": presented})
    body = assert_error(response, 401)
    assert body["kind"] == "unauthorized"
    assert_no_token(response, token, other_token)
    # A failed attempt changes nothing.
    assert heartbeat(http, agent_id, token).status_code == 200


def test_rotate_token_of_other_workspaces_agent_needs_its_token(
    http: httpx.Client, system: RunningSystem, workspace: dict[str, Any]
) -> None:
    other = create_workspace(http, system.admin_token)
    foreign_id, foreign_token = registered(http, other)
    _, own_token = registered(http, workspace)
    assert_error(rotate(http, {"agentId": foreign_id, "currentToken": own_token}), 401)
    # The agent's own token works whatever API key (if any) accompanies it.
    response = http.post(
        "/v1/agents/rotate-token",
        json={"agentId": foreign_id, "currentToken": foreign_token},
        headers=key_headers(workspace),
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currentToken": "agent_tok_old_token"}, "agentId"),
        ({"agentId": "550e8400-e29b-41d4-a716-446655440000"}, "currentToken"),
        ({"agentId": "not-a-uuid", "currentToken": "agent_tok_old_token"}, "agentId"),
        ({"agentId": "550e8400-e29b-41d4-a716-446655440000", "currentToken": ""}, "currentToken"),
        ({"agentId": "550e8400-e29b-41d4-a716-446655440000", "currentToken": 5}, "currentToken"),
        ({}, "agentId"),
    ],
)
def test_rotate_token_bad_bodies_are_400(http: httpx.Client, body: Any, field: str) -> None:
    assert_invalid(rotate(http, body), field)


def test_rotate_token_non_object_bodies_are_400(http: httpx.Client) -> None:
    assert_error(rotate(http, ["agentId"]), 400)
    response = http.post(
        "/v1/agents/rotate-token", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400)


def test_rotate_token_audit_entry(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, old = registered(http, workspace)
    new = rotated(http, agent_id, old)["newToken"]
    response = audit(http, workspace, agent_id)
    assert_no_token(response, old, new)
    logs = response.json()["logs"]
    assert [e["action"] for e in logs] == ["token_rotated", "registered"]
    entry = logs[0]
    assert set(entry) == {"id", "action", "timestamp", "metadata"}
    assert near(parse_ts(entry["timestamp"]), datetime.now(UTC))
    prefix = entry["metadata"].get("oldTokenPrefix")
    assert isinstance(prefix, str) and old.startswith(prefix), entry
    assert len(prefix) < len(old) // 2, "only a short prefix of the old token may be shown"
    assert prefix == logs[1]["metadata"]["tokenPrefix"]
    new_prefix = entry["metadata"].get("tokenPrefix")
    assert isinstance(new_prefix, str) and new.startswith(new_prefix)
    assert len(new_prefix) < len(new) // 2


def test_parallel_rotations_with_one_token_have_exactly_one_winner(
    http: httpx.Client, system: RunningSystem, workspace: dict[str, Any]
) -> None:
    agent_id, token = registered(http, workspace)
    body = {"agentId": agent_id, "currentToken": token}

    def attempt(_: int) -> httpx.Response:
        with httpx.Client(base_url=system.base_url, timeout=30.0) as client:
            return rotate(client, body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(attempt, range(20)))
    statuses = sorted(r.status_code for r in responses)
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, statuses
    assert set(statuses) - {200} <= {401, 409}, statuses
    for loser in responses:
        if loser.status_code != 200:
            assert_error(loser, loser.status_code)
    new = winners[0].json()["newToken"]
    assert heartbeat(http, agent_id, new).status_code == 200
    assert_error(heartbeat(http, agent_id, token), 401)
    actions = [e["action"] for e in audit(http, workspace, agent_id).json()["logs"]]
    assert actions.count("token_rotated") == 1, actions


# -- capabilities --------------------------------------------------------------------------


def test_register_capabilities_doc_example(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, _ = registered(http, workspace)
    response = post_capabilities(http, workspace, agent_id, {"capabilities": DOC_CAPABILITIES})
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "capabilities": DOC_CAPABILITIES}

    details = get(http, workspace, f"/v1/agents/{agent_id}")
    assert details.status_code == 200, details.text
    assert details.json()["capabilities"] == DOC_CAPABILITIES
    logs = audit(http, workspace, agent_id).json()["logs"]
    assert [e["action"] for e in logs] == ["capabilities_replaced", "registered"]
    assert logs[0]["metadata"]["capabilities"] == DOC_CAPABILITIES


def test_capabilities_replace_the_whole_set(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, _ = registered(http, workspace)
    set_capabilities(http, workspace, agent_id, DOC_CAPABILITIES)
    set_capabilities(http, workspace, agent_id, [{"name": "tools", "metadata": {"jq": "1.7"}}])
    capabilities = get(http, workspace, f"/v1/agents/{agent_id}").json()["capabilities"]
    assert capabilities == [{"name": "tools", "metadata": {"jq": "1.7"}}]

    response = post_capabilities(http, workspace, agent_id, {"capabilities": []})
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "capabilities": []}
    assert get(http, workspace, f"/v1/agents/{agent_id}").json()["capabilities"] == []


def test_capability_metadata_defaults_to_empty(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, _ = registered(http, workspace)
    response = post_capabilities(http, workspace, agent_id, {"capabilities": [{"name": "gpu"}]})
    assert response.status_code == 200, response.text
    assert response.json()["capabilities"] == [{"name": "gpu", "metadata": {}}]


def test_same_capabilities_twice_record_one_change(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, _ = registered(http, workspace)
    set_capabilities(http, workspace, agent_id, DOC_CAPABILITIES)
    set_capabilities(http, workspace, agent_id, DOC_CAPABILITIES)
    actions = [e["action"] for e in audit(http, workspace, agent_id).json()["logs"]]
    assert actions == ["capabilities_replaced", "registered"]


def test_capabilities_of_provisioned_agent(http: httpx.Client, workspace: dict[str, Any]) -> None:
    prov = provisioned(http, workspace, name="cursor-agent-1")
    set_capabilities(http, workspace, prov["agentId"], DOC_CAPABILITIES)
    details = get(http, workspace, f"/v1/agents/{prov['agentId']}").json()
    assert details["capabilities"] == DOC_CAPABILITIES


@pytest.mark.parametrize("which", ["unknown", "not_a_uuid", "other_workspace"])
def test_capabilities_of_unknown_agent_are_404(
    http: httpx.Client, system: RunningSystem, workspace: dict[str, Any], which: str
) -> None:
    if which == "other_workspace":
        other = create_workspace(http, system.admin_token)
        agent_id, _ = registered(http, other)
    else:
        agent_id = str(uuid.uuid4()) if which == "unknown" else "not-a-uuid"
    response = post_capabilities(http, workspace, agent_id, {"capabilities": DOC_CAPABILITIES})
    assert assert_error(response, 404)["kind"] == "not_found"
    if which == "other_workspace":
        details = get(http, other, f"/v1/agents/{agent_id}").json()
        assert details["capabilities"] == []


def test_capabilities_need_api_key(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, _ = registered(http, workspace)
    body = {"capabilities": DOC_CAPABILITIES}
    path = f"/v1/agents/{agent_id}/capabilities"
    no_key = http.post(path, json=body, headers={"Content-Type": "application/json"})
    assert_error(no_key, 401)
    bad_key = http.post(
        path, json=body, headers={"x-api-key": "pc_wrong", "Content-Type": "application/json"}
    )
    assert_error(bad_key, 401)
    assert get(http, workspace, f"/v1/agents/{agent_id}").json()["capabilities"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "capabilities"),
        ({"capabilities": None}, "capabilities"),
        ({"capabilities": "gpu"}, "capabilities"),
        ({"capabilities": {"name": "gpu"}}, "capabilities"),
        ({"capabilities": ["gpu"]}, "capabilities.0"),
        ({"capabilities": [{"metadata": {"model": "A100"}}]}, "capabilities.0.name"),
        ({"capabilities": [{"name": ""}]}, "capabilities.0.name"),
        ({"capabilities": [{"name": 7}]}, "capabilities.0.name"),
        ({"capabilities": [{"name": "g" * 101}]}, "capabilities.0.name"),
        (
            {"capabilities": [{"name": "gpu"}, {"name": "x", "metadata": "A100"}]},
            "capabilities.1.metadata",
        ),
        (
            {"capabilities": [{"name": "gpu", "metadata": {"blob": "x" * 5000}}]},
            "capabilities.0.metadata",
        ),
        ({"capabilities": [{"name": "gpu"}, {"name": "gpu"}]}, "capabilities"),
        ({"capabilities": [{"name": f"c{i}"} for i in range(101)]}, "capabilities"),
    ],
)
def test_capabilities_bad_bodies_are_400(
    http: httpx.Client, workspace: dict[str, Any], body: Any, field: str
) -> None:
    agent_id, _ = registered(http, workspace)
    assert_invalid(post_capabilities(http, workspace, agent_id, body), field)
    assert get(http, workspace, f"/v1/agents/{agent_id}").json()["capabilities"] == []


def test_capabilities_limits_accepted(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, _ = registered(http, workspace)
    many = [{"name": f"c{i}", "metadata": {}} for i in range(99)] + [
        {"name": "g" * 100, "metadata": {}}
    ]
    set_capabilities(http, workspace, agent_id, many)
    assert get(http, workspace, f"/v1/agents/{agent_id}").json()["capabilities"] == many


# -- by-capability -------------------------------------------------------------------------


def test_find_by_capability_doc_example(http: httpx.Client, workspace: dict[str, Any]) -> None:
    gpu1, gpu1_token = registered(http, workspace, "gpu-worker-1")
    gpu2, _ = registered(http, workspace, "gpu-worker-2")
    cpu, _ = registered(http, workspace, "cpu-worker-1")
    set_capabilities(http, workspace, gpu1, [{"name": "gpu", "metadata": {"model": "A100"}}])
    set_capabilities(
        http,
        workspace,
        gpu2,
        [{"name": "high-memory", "metadata": {}}, {"name": "gpu", "metadata": {"model": "H100"}}],
    )
    set_capabilities(http, workspace, cpu, [{"name": "high-memory", "metadata": {"ram": "256GB"}}])
    assert heartbeat(http, gpu1, gpu1_token).status_code == 200

    response = get(http, workspace, "/v1/agents/by-capability/gpu")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"agents"}
    assert body["agents"] == [
        {
            "id": gpu1,
            "name": "gpu-worker-1",
            "isOnline": True,
            "capability": {"name": "gpu", "metadata": {"model": "A100"}},
        },
        {
            "id": gpu2,
            "name": "gpu-worker-2",
            "isOnline": False,
            "capability": {"name": "gpu", "metadata": {"model": "H100"}},
        },
    ]
    memory = get(http, workspace, "/v1/agents/by-capability/high-memory").json()["agents"]
    assert [(a["id"], a["capability"]["metadata"]) for a in memory] == [
        (gpu2, {}),
        (cpu, {"ram": "256GB"}),
    ]


def test_find_by_capability_exact_name_and_empty(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, _ = registered(http, workspace)
    set_capabilities(http, workspace, agent_id, DOC_CAPABILITIES)
    for name in ("GPU", "gp", "tools"):
        response = get(http, workspace, f"/v1/agents/by-capability/{name}")
        assert response.status_code == 200, response.text
        assert response.json() == {"agents": []}


def test_find_by_capability_follows_replacement_and_workspace(
    http: httpx.Client, system: RunningSystem, workspace: dict[str, Any]
) -> None:
    other = create_workspace(http, system.admin_token)
    foreign, _ = registered(http, other, "foreign")
    set_capabilities(http, other, foreign, DOC_CAPABILITIES)
    agent_id, _ = registered(http, workspace)
    set_capabilities(http, workspace, agent_id, DOC_CAPABILITIES)
    found = get(http, workspace, "/v1/agents/by-capability/gpu").json()["agents"]
    assert [a["id"] for a in found] == [agent_id]
    set_capabilities(http, workspace, agent_id, [{"name": "high-memory", "metadata": {}}])
    assert get(http, workspace, "/v1/agents/by-capability/gpu").json() == {"agents": []}


def test_find_by_capability_needs_api_key(http: httpx.Client) -> None:
    assert_error(http.get("/v1/agents/by-capability/gpu"), 401)
    assert_error(http.get("/v1/agents/by-capability/gpu", headers={"x-api-key": "pc_x"}), 401)


def test_find_by_capability_name_too_long_is_400(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    assert_invalid(get(http, workspace, "/v1/agents/by-capability/" + "g" * 101), "name")


# -- orchestration -------------------------------------------------------------------------


def test_orchestration_doc_example(http: httpx.Client, workspace: dict[str, Any]) -> None:
    assert get(http, workspace, "/v1/agents/orchestration").json() == {"agents": []}
    web, web_token = registered(http, workspace, "web-server-1", "production")
    idle, _ = registered(http, workspace, "idle-1", "staging")
    set_capabilities(http, workspace, web, [{"name": "gpu", "metadata": {"model": "A100"}}])
    assert heartbeat(http, web, web_token).status_code == 200

    response = get(http, workspace, "/v1/agents/orchestration")
    assert response.status_code == 200, response.text
    assert_no_token(response, web_token)
    body = response.json()
    assert set(body) == {"agents"}
    keys = {"id", "name", "label", "isOnline", "lastSeenAt", "capabilities", "services"}
    for agent in body["agents"]:
        assert set(agent) == keys, agent
    first, second = body["agents"]
    assert first["id"] == web and second["id"] == idle
    assert first["name"] == "web-server-1" and first["label"] == "production"
    assert first["isOnline"] is True
    assert near(parse_ts(first["lastSeenAt"]), datetime.now(UTC))
    assert first["capabilities"] == [{"name": "gpu", "metadata": {"model": "A100"}}]
    assert first["services"] == []
    assert second == {
        "id": idle,
        "name": "idle-1",
        "label": "staging",
        "isOnline": False,
        "lastSeenAt": None,
        "capabilities": [],
        "services": [],
    }
    # The same agents, online state and last-seen time as the agent list shows.
    listed = {a["id"]: a for a in get(http, workspace, "/v1/agents").json()}
    for agent in body["agents"]:
        assert listed[agent["id"]]["isOnline"] == agent["isOnline"]
        assert listed[agent["id"]]["lastSeenAt"] == agent["lastSeenAt"]


def test_orchestration_is_per_workspace_and_needs_api_key(
    http: httpx.Client, system: RunningSystem, workspace: dict[str, Any]
) -> None:
    other = create_workspace(http, system.admin_token)
    registered(http, other, "foreign")
    mine, _ = registered(http, workspace)
    agents = get(http, workspace, "/v1/agents/orchestration").json()["agents"]
    assert [a["id"] for a in agents] == [mine]
    assert_error(http.get("/v1/agents/orchestration"), 401)


# -- expiring-tokens -----------------------------------------------------------------------


def test_expiring_tokens_doc_example(http: httpx.Client, workspace: dict[str, Any]) -> None:
    assert get(http, workspace, "/v1/agents/expiring-tokens").json() == {"agents": []}
    two_hours = provisioned(http, workspace, name="web-server-1", ttlSeconds=7200)
    one_minute = provisioned(http, workspace, name="short", ttlSeconds=60)
    day_id, _ = registered(http, workspace, "day")  # registered tokens live 24 h

    response = get(http, workspace, "/v1/agents/expiring-tokens")
    assert response.status_code == 200, response.text
    assert_no_token(response, two_hours["token"], one_minute["token"])
    body = response.json()
    assert set(body) == {"agents"}
    for agent in body["agents"]:
        assert set(agent) == {"id", "name", "tokenExpiresAt", "hoursUntilExpiry"}, agent
        assert isinstance(agent["hoursUntilExpiry"], int)
    # Soonest first; hours are whole hours, rounded down.
    assert [(a["id"], a["name"], a["hoursUntilExpiry"]) for a in body["agents"]] == [
        (one_minute["agentId"], "short", 0),
        (two_hours["agentId"], "web-server-1", 1),
        (day_id, "day", 23),
    ]
    assert body["agents"][0]["tokenExpiresAt"] == one_minute["expiresAt"]
    assert body["agents"][1]["tokenExpiresAt"] == two_hours["expiresAt"]
    assert near(
        parse_ts(body["agents"][2]["tokenExpiresAt"]), datetime.now(UTC) + timedelta(hours=24)
    )


def test_expiring_tokens_is_per_workspace_and_needs_api_key(
    http: httpx.Client, system: RunningSystem, workspace: dict[str, Any]
) -> None:
    other = create_workspace(http, system.admin_token)
    provisioned(http, other, name="foreign")
    mine = provisioned(http, workspace, name="mine")
    agents = get(http, workspace, "/v1/agents/expiring-tokens").json()["agents"]
    assert [a["id"] for a in agents] == [mine["agentId"]]
    assert_error(http.get("/v1/agents/expiring-tokens"), 401)


@pytest.mark.parametrize("path", ["orchestration", "expiring-tokens", "by-capability/gpu"])
def test_fixed_paths_are_not_taken_for_agent_ids(
    http: httpx.Client, workspace: dict[str, Any], path: str
) -> None:
    response = get(http, workspace, f"/v1/agents/{path}")
    assert response.status_code == 200, response.text
    assert response.json() == {"agents": []}


# -- token lifetime from settings ------------------------------------------------------------


def test_token_lifetime_setting_governs_rotation_and_expiry(
    system_factory: Callable[..., RunningSystem],
) -> None:
    """With a 48 h agent token lifetime, a fresh agent token is not "expiring" yet."""
    running = system_factory(env={"AGENTPLANE_AGENT_TOKEN_TTL_SECONDS": str(48 * 3600)})
    with httpx.Client(base_url=running.base_url, timeout=30.0) as client:
        ws = create_workspace(client, running.admin_token)
        agent_id, token = registered(client, ws)
        soon = provisioned(client, ws, name="soon", ttlSeconds=7200)
        listed = get(client, ws, "/v1/agents/expiring-tokens").json()["agents"]
        assert [a["id"] for a in listed] == [soon["agentId"]]

        before = datetime.now(UTC)
        body = rotated(client, agent_id, token)
        assert near(parse_ts(body["expiresAt"]), before + timedelta(hours=48))
        body = rotated(client, soon["agentId"], soon["token"])
        assert get(client, ws, "/v1/agents/expiring-tokens").json() == {"agents": []}
