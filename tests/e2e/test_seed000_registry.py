"""Seed 000 (Agents API): provision, register, heartbeat, list, details and audit logs.

Every request is made the way the seed document's curl examples make it: the same headers
(`x-api-key`, `Content-Type: application/json`; none on heartbeat) and the same JSON bodies,
with fresh ids. Each test uses its own workspace.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from agentplane.bus.requests import BusClient
from agentplane.contracts.online_agents import ListOnlineAgents, OnlineAgentPage
from agentplane.contracts.subjects import Registry
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CLIENT_TYPES = [
    "cursor",
    "windsurf",
    "copilot",
    "cline",
    "aider",
    "continue",
    "bolt",
    "v0",
    "replit",
    "custom",
]
SUMMARY_KEYS = {"id", "name", "label", "isOnline", "lastSeenAt", "createdAt"}
DETAIL_KEYS = {
    "id",
    "name",
    "label",
    "workspaceId",
    "isOnline",
    "lastSeenAt",
    "createdAt",
    "capabilities",
    "services",
}


# -- helpers ------------------------------------------------------------------------------


def key_headers(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"], "Content-Type": "application/json"}


def parse_ts(value: str) -> datetime:
    assert isinstance(value, str), value
    assert ISO_MS.match(value), f"not a seed-000 timestamp (YYYY-MM-DDTHH:MM:SS.mmmZ): {value!r}"
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def assert_uuid(value: Any) -> None:
    assert isinstance(value, str), value
    assert str(uuid.UUID(value)) == value.lower()


def new_token() -> str:
    """A caller-chosen agent token (≥ 32 characters), shaped like the doc's example."""
    return "agent_tok_" + uuid.uuid4().hex


def provision(http: httpx.Client, ws: dict[str, Any], **body: Any) -> httpx.Response:
    return http.post("/v1/agents/provision", json=body, headers=key_headers(ws))


def provisioned(http: httpx.Client, ws: dict[str, Any], **body: Any) -> dict[str, Any]:
    body.setdefault("clientType", "cursor")
    response = provision(http, ws, **body)
    assert response.status_code == 201, response.text
    return response.json()


def register(http: httpx.Client, ws: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
    return http.post("/v1/agents/register", json=body, headers=key_headers(ws))


def registered(
    http: httpx.Client,
    ws: dict[str, Any],
    name: str = "web-server-1",
    label: str = "production",
) -> tuple[str, str]:
    agent_id, token = str(uuid.uuid4()), new_token()
    response = register(
        http, ws, {"agentId": agent_id, "token": token, "label": label, "name": name}
    )
    assert response.status_code == 201, response.text
    return agent_id, token


def heartbeat(http: httpx.Client, agent_id: str, token: str) -> httpx.Response:
    return http.post(
        "/v1/agents/heartbeat",
        json={"agentId": agent_id, "token": token},
        headers={"Content-Type": "application/json"},
    )


def get(http: httpx.Client, ws: dict[str, Any], path: str) -> httpx.Response:
    return http.get(path, headers={"x-api-key": ws["apiKey"]})


def audit(http: httpx.Client, ws: dict[str, Any], agent_id: str) -> list[dict[str, Any]]:
    response = get(http, ws, f"/v1/agents/{agent_id}/audit-logs")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"logs"}, body
    assert isinstance(body["logs"], list)
    return body["logs"]


def wait_for(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("kind"), str) and body["kind"], body
    return body


def assert_invalid(response: httpx.Response, field: str) -> None:
    body = assert_error(response, 400)
    fields = body.get("details", {}).get("fields")
    assert isinstance(fields, list) and fields, body
    named = [f.get("field") for f in fields]
    assert field in named, f"expected {field!r} among invalid fields {named}: {body}"


def assert_no_token(response: httpx.Response, *tokens: str) -> None:
    for token in tokens:
        assert token not in response.text, f"full token leaked in {response.request.url}"


# -- provision ----------------------------------------------------------------------------


def test_provision_doc_example(http: httpx.Client, workspace: dict[str, Any]) -> None:
    before = datetime.now(UTC)
    response = provision(
        http,
        workspace,
        clientType="cursor",
        label="staging",
        name="cursor-agent-1",
        ttlSeconds=7200,
    )
    after = datetime.now(UTC)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"agentId", "token", "expiresAt", "workspaceId", "workspaceName"}
    assert_uuid(body["agentId"])
    assert isinstance(body["token"], str)
    assert body["token"].startswith("agent_tok_")
    assert len(body["token"]) >= 32  # usable with /register (min 32 characters)
    expires = parse_ts(body["expiresAt"])
    slack = timedelta(seconds=2)
    assert before + timedelta(seconds=7200) - slack <= expires <= after + timedelta(seconds=7200)
    assert body["workspaceId"] == workspace["workspaceId"]
    assert body["workspaceName"] == workspace["workspaceName"]


def test_provision_defaults_ttl_to_two_hours(http: httpx.Client, workspace: dict[str, Any]) -> None:
    before = datetime.now(UTC)
    body = provisioned(http, workspace, clientType="custom")  # label, name, ttl omitted
    after = datetime.now(UTC)
    expires = parse_ts(body["expiresAt"])
    # Between the request's start and its answer, whatever the request time.
    slack = timedelta(seconds=2)
    assert before + timedelta(seconds=7200) - slack <= expires <= after + timedelta(seconds=7200)


def test_provision_each_token_and_id_is_new(http: httpx.Client, workspace: dict[str, Any]) -> None:
    first = provisioned(http, workspace)
    second = provisioned(http, workspace)
    assert first["agentId"] != second["agentId"]
    assert first["token"] != second["token"]


@pytest.mark.parametrize("client_type", CLIENT_TYPES)
def test_provision_accepts_every_documented_client_type(
    http: httpx.Client, workspace: dict[str, Any], client_type: str
) -> None:
    response = provision(http, workspace, clientType=client_type)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("ttl", [60, 86400])
def test_provision_ttl_bounds_accepted(
    http: httpx.Client, workspace: dict[str, Any], ttl: int
) -> None:
    before = datetime.now(UTC)
    body = provisioned(http, workspace, clientType="aider", ttlSeconds=ttl)
    after = datetime.now(UTC)
    expires = parse_ts(body["expiresAt"])
    slack = timedelta(seconds=2)
    assert before + timedelta(seconds=ttl) - slack <= expires <= after + timedelta(seconds=ttl)


@pytest.mark.parametrize("ttl", [59, 86401, 0, -1])
def test_provision_ttl_out_of_bounds_rejected(
    http: httpx.Client, workspace: dict[str, Any], ttl: int
) -> None:
    assert_invalid(provision(http, workspace, clientType="cursor", ttlSeconds=ttl), "ttlSeconds")


@pytest.mark.parametrize("client_type", ["vim", "Cursor", "", 7])
def test_provision_rejects_unknown_client_type(
    http: httpx.Client, workspace: dict[str, Any], client_type: Any
) -> None:
    assert_invalid(provision(http, workspace, clientType=client_type), "clientType")


def test_provision_requires_client_type(http: httpx.Client, workspace: dict[str, Any]) -> None:
    response = provision(http, workspace, label="staging", name="cursor-agent-1")
    assert_invalid(response, "clientType")


@pytest.mark.parametrize("field", ["name", "label"])
def test_provision_name_and_label_max_100(
    http: httpx.Client, workspace: dict[str, Any], field: str
) -> None:
    ok = provision(http, workspace, clientType="cursor", **{field: "x" * 100})
    assert ok.status_code == 201, ok.text
    assert_invalid(provision(http, workspace, clientType="cursor", **{field: "x" * 101}), field)


def test_provision_needs_api_key(http: httpx.Client, workspace: dict[str, Any]) -> None:
    body = {"clientType": "cursor"}
    missing = http.post("/v1/agents/provision", json=body)
    assert_error(missing, 401)
    wrong = http.post("/v1/agents/provision", json=body, headers={"x-api-key": "pc_wrong"})
    assert_error(wrong, 401)


# -- register -----------------------------------------------------------------------------


def test_register_doc_example(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, token = str(uuid.uuid4()), new_token()
    before = datetime.now(UTC) - timedelta(seconds=2)
    response = register(
        http,
        workspace,
        {"agentId": agent_id, "token": token, "label": "production", "name": "web-server-1"},
    )
    after = datetime.now(UTC) + timedelta(seconds=2)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"success", "agent"}
    assert body["success"] is True
    agent = body["agent"]
    assert set(agent) == {"id", "name", "label", "workspaceId", "createdAt"}
    assert agent["id"] == agent_id
    assert agent["name"] == "web-server-1"
    assert agent["label"] == "production"
    assert agent["workspaceId"] == workspace["workspaceId"]
    assert before <= parse_ts(agent["createdAt"]) <= after
    assert_no_token(response, token)


def test_register_with_only_required_fields(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id = str(uuid.uuid4())
    response = register(http, workspace, {"agentId": agent_id, "token": new_token()})
    assert response.status_code == 201, response.text
    assert response.json()["agent"]["id"] == agent_id


def test_register_completes_a_provisioned_agent(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    prov = provisioned(http, workspace, clientType="windsurf", label="staging", name="ws-agent")
    response = register(
        http,
        workspace,
        {
            "agentId": prov["agentId"],
            "token": prov["token"],
            "label": "production",
            "name": "web-server-1",
        },
    )
    assert response.status_code == 201, response.text
    agent = response.json()["agent"]
    assert agent["id"] == prov["agentId"]
    assert agent["name"] == "web-server-1"
    assert agent["label"] == "production"
    assert agent["workspaceId"] == workspace["workspaceId"]
    parse_ts(agent["createdAt"])
    assert_no_token(response, prov["token"])

    # The provisioned token is the agent's token: it heartbeats with it.
    assert heartbeat(http, prov["agentId"], prov["token"]).status_code == 200

    again = register(
        http, workspace, {"agentId": prov["agentId"], "token": prov["token"], "name": "dup"}
    )
    assert_error(again, 409)
    assert_no_token(again, prov["token"])


def test_register_provisioned_agent_with_wrong_token_is_401(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    prov = provisioned(http, workspace)
    wrong = register(http, workspace, {"agentId": prov["agentId"], "token": new_token()})
    assert_error(wrong, 401)
    assert_no_token(wrong, prov["token"])
    # The right token still completes the registration afterwards.
    right = register(http, workspace, {"agentId": prov["agentId"], "token": prov["token"]})
    assert right.status_code == 201, right.text


def test_register_same_agent_id_twice_is_409(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, token = registered(http, workspace)
    same = register(http, workspace, {"agentId": agent_id, "token": token, "name": "web-server-1"})
    assert_error(same, 409)
    other = register(http, workspace, {"agentId": agent_id, "token": new_token()})
    assert_error(other, 409)
    assert_no_token(same, token)


def test_register_token_min_32_characters(http: httpx.Client, workspace: dict[str, Any]) -> None:
    short = register(http, workspace, {"agentId": str(uuid.uuid4()), "token": "t" * 31})
    assert_invalid(short, "token")
    exact = register(http, workspace, {"agentId": str(uuid.uuid4()), "token": "t" * 32})
    assert exact.status_code == 201, exact.text


@pytest.mark.parametrize("agent_id", ["web-server-1", "550e8400", "", 12345])
def test_register_rejects_non_uuid_agent_id(
    http: httpx.Client, workspace: dict[str, Any], agent_id: Any
) -> None:
    assert_invalid(
        register(http, workspace, {"agentId": agent_id, "token": new_token()}), "agentId"
    )


@pytest.mark.parametrize("missing", ["agentId", "token"])
def test_register_requires_agent_id_and_token(
    http: httpx.Client, workspace: dict[str, Any], missing: str
) -> None:
    body = {"agentId": str(uuid.uuid4()), "token": new_token(), "label": "production"}
    del body[missing]
    assert_invalid(register(http, workspace, body), missing)


@pytest.mark.parametrize("field", ["name", "label"])
def test_register_name_and_label_max_100(
    http: httpx.Client, workspace: dict[str, Any], field: str
) -> None:
    body = {"agentId": str(uuid.uuid4()), "token": new_token(), field: "y" * 101}
    assert_invalid(register(http, workspace, body), field)
    body[field] = "y" * 100
    assert register(http, workspace, body).status_code == 201


def test_register_needs_api_key(http: httpx.Client, workspace: dict[str, Any]) -> None:
    body = {"agentId": str(uuid.uuid4()), "token": new_token()}
    assert_error(http.post("/v1/agents/register", json=body), 401)
    bad = http.post("/v1/agents/register", json=body, headers={"x-api-key": "nope"})
    assert_error(bad, 401)
    # Nothing was registered by the rejected calls.
    assert get(http, workspace, f"/v1/agents/{body['agentId']}").status_code == 404


# -- heartbeat ----------------------------------------------------------------------------


def test_heartbeat_doc_example(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, token = registered(http, workspace)
    response = heartbeat(http, agent_id, token)  # no x-api-key, as in the doc
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}


def test_heartbeat_with_wrong_token_or_unknown_agent_is_401(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = registered(http, workspace)
    assert_error(heartbeat(http, agent_id, new_token()), 401)
    assert_error(heartbeat(http, str(uuid.uuid4()), token), 401)
    # A rejected beat does not bring the agent online.
    agent = get(http, workspace, f"/v1/agents/{agent_id}").json()
    assert agent["isOnline"] is False


@pytest.mark.parametrize("missing", ["agentId", "token"])
def test_heartbeat_requires_agent_id_and_token(http: httpx.Client, missing: str) -> None:
    body = {"agentId": str(uuid.uuid4()), "token": new_token()}
    del body[missing]
    assert_invalid(http.post("/v1/agents/heartbeat", json=body), missing)


def test_heartbeat_rejects_non_uuid_agent_id(http: httpx.Client) -> None:
    body = {"agentId": "web-server-1", "token": new_token()}
    assert_invalid(http.post("/v1/agents/heartbeat", json=body), "agentId")


# -- list, online, details ----------------------------------------------------------------


def assert_summary(item: dict[str, Any]) -> None:
    assert set(item) == SUMMARY_KEYS, item
    assert_uuid(item["id"])
    assert item["name"] is None or isinstance(item["name"], str)
    assert item["label"] is None or isinstance(item["label"], str)
    assert isinstance(item["isOnline"], bool)
    if item["lastSeenAt"] is not None:
        parse_ts(item["lastSeenAt"])
    parse_ts(item["createdAt"])


def test_list_agents_doc_example(http: httpx.Client, workspace: dict[str, Any]) -> None:
    assert get(http, workspace, "/v1/agents").json() == []
    web, web_token = registered(http, workspace, "web-server-1", "production")
    db, _ = registered(http, workspace, "db-1", "staging")
    assert heartbeat(http, web, web_token).status_code == 200

    response = get(http, workspace, "/v1/agents")
    assert response.status_code == 200, response.text
    agents = response.json()
    assert isinstance(agents, list)
    by_id = {a["id"]: a for a in agents}
    assert set(by_id) == {web, db}
    for item in agents:
        assert_summary(item)
    assert by_id[web]["name"] == "web-server-1"
    assert by_id[web]["label"] == "production"
    assert by_id[web]["isOnline"] is True
    assert by_id[web]["lastSeenAt"] is not None
    assert by_id[db]["name"] == "db-1"
    assert by_id[db]["label"] == "staging"
    assert by_id[db]["isOnline"] is False
    assert_no_token(response, web_token)


def test_online_lists_only_agents_that_heartbeated(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    beating, token = registered(http, workspace, "beating")
    silent, _ = registered(http, workspace, "silent")
    assert get(http, workspace, "/v1/agents/online").json() == []

    assert heartbeat(http, beating, token).status_code == 200
    response = get(http, workspace, "/v1/agents/online")
    assert response.status_code == 200, response.text
    online = response.json()
    assert isinstance(online, list)
    assert [a["id"] for a in online] == [beating]
    assert_summary(online[0])
    assert online[0]["isOnline"] is True
    assert online[0]["name"] == "beating"
    assert silent not in {a["id"] for a in online}


async def test_the_registry_keeps_the_online_agents_of_each_page(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    """The online list is the registry's answer over the bus (it asks the heartbeat service),
    not a filter in the gateway: a page of one silent agent comes back empty but not last."""
    registered(http, workspace, "silent")
    beating, token = registered(http, workspace, "beating")
    assert heartbeat(http, beating, token).status_code == 200
    nc = await system.nats_connect(name="test-online-page")
    try:
        bus = BusClient(nc, 10)
        ask = ListOnlineAgents(workspace_id=workspace["workspaceId"], limit=1)
        first = OnlineAgentPage.model_validate(await bus.request(Registry.AGENT_ONLINE, ask))
        assert first.agents == [] and first.liveness == {}
        assert first.next_after is not None
        ask = ListOnlineAgents(workspace_id=ask.workspace_id, after=first.next_after, limit=1)
        second = OnlineAgentPage.model_validate(await bus.request(Registry.AGENT_ONLINE, ask))
        assert [str(a.id) for a in second.agents] == [beating]
        assert second.agents[0].name == "beating"
        assert second.liveness[beating].online is True
        assert second.liveness[beating].last_seen_at is not None
    finally:
        await nc.close()


def test_last_seen_at_updates_after_heartbeat(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = registered(http, workspace)
    path = f"/v1/agents/{agent_id}"
    first_state = get(http, workspace, path).json()
    assert first_state["isOnline"] is False

    before = datetime.now(UTC) - timedelta(seconds=1)
    assert heartbeat(http, agent_id, token).status_code == 200
    seen1 = parse_ts(get(http, workspace, path).json()["lastSeenAt"])
    assert seen1 >= before
    assert seen1 <= datetime.now(UTC) + timedelta(seconds=1)

    time.sleep(0.05)
    assert heartbeat(http, agent_id, token).status_code == 200
    details = get(http, workspace, path).json()
    seen2 = parse_ts(details["lastSeenAt"])
    assert seen2 > seen1
    assert details["isOnline"] is True
    listed = {a["id"]: a for a in get(http, workspace, "/v1/agents").json()}
    assert parse_ts(listed[agent_id]["lastSeenAt"]) == seen2


def test_get_agent_doc_example(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, token = registered(http, workspace, "web-server-1", "production")
    assert heartbeat(http, agent_id, token).status_code == 200

    response = get(http, workspace, f"/v1/agents/{agent_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == DETAIL_KEYS
    assert body["id"] == agent_id
    assert body["name"] == "web-server-1"
    assert body["label"] == "production"
    assert body["workspaceId"] == workspace["workspaceId"]
    assert body["isOnline"] is True
    parse_ts(body["lastSeenAt"])
    parse_ts(body["createdAt"])
    assert body["capabilities"] == []
    assert body["services"] == []
    assert_no_token(response, token)


def test_get_agent_created_at_matches_registration(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = str(uuid.uuid4()), new_token()
    created = register(http, workspace, {"agentId": agent_id, "token": token}).json()
    details = get(http, workspace, f"/v1/agents/{agent_id}").json()
    assert details["createdAt"] == created["agent"]["createdAt"]
    assert details["name"] is None and details["label"] is None
    assert details["isOnline"] is False


@pytest.mark.parametrize("agent_id", [str(uuid.uuid4()), "not-a-uuid", "550e8400"])
def test_get_unknown_agent_is_404(
    http: httpx.Client, workspace: dict[str, Any], agent_id: str
) -> None:
    assert_error(get(http, workspace, f"/v1/agents/{agent_id}"), 404)
    assert_error(get(http, workspace, f"/v1/agents/{agent_id}/audit-logs"), 404)


@pytest.mark.parametrize("path", ["/v1/agents", "/v1/agents/online"])
def test_lists_need_api_key(http: httpx.Client, path: str) -> None:
    assert_error(http.get(path), 401)
    assert_error(http.get(path, headers={"x-api-key": "pc_not_a_key"}), 401)


def test_provisioned_agent_visible_without_token(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    prov = provisioned(http, workspace, clientType="copilot", label="staging", name="cp-1")
    details = get(http, workspace, f"/v1/agents/{prov['agentId']}")
    assert details.status_code == 200, details.text
    body = details.json()
    assert body["name"] == "cp-1" and body["label"] == "staging"
    assert_no_token(details, prov["token"])
    assert_no_token(get(http, workspace, "/v1/agents"), prov["token"])


# -- audit logs ---------------------------------------------------------------------------


def assert_entries(logs: list[dict[str, Any]]) -> None:
    ids = [e["id"] for e in logs]
    assert len(ids) == len(set(ids)), ids
    stamps = []
    for entry in logs:
        assert set(entry) == {"id", "action", "timestamp", "metadata"}, entry
        assert isinstance(entry["id"], str) and entry["id"]
        assert isinstance(entry["action"], str) and entry["action"]
        assert isinstance(entry["metadata"], dict)
        stamps.append(parse_ts(entry["timestamp"]))
    assert stamps == sorted(stamps, reverse=True), "audit logs must be newest first"


def test_audit_logs_of_provisioned_then_registered_agent(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    prov = provisioned(http, workspace, clientType="cline", label="staging", name="cl-1")
    token = prov["token"]
    done = register(http, workspace, {"agentId": prov["agentId"], "token": token})
    assert done.status_code == 201, done.text

    response = get(http, workspace, f"/v1/agents/{prov['agentId']}/audit-logs")
    assert response.status_code == 200, response.text
    assert_no_token(response, token)
    logs = response.json()["logs"]
    assert_entries(logs)
    assert [e["action"] for e in logs] == ["registered", "provisioned"]

    provisioned_entry = logs[1]
    prefix = provisioned_entry["metadata"].get("tokenPrefix")
    assert isinstance(prefix, str) and prefix, provisioned_entry
    assert token.startswith(prefix)
    assert len(prefix) < len(token) // 2, "only a short prefix of the token may be shown"


def test_audit_logs_of_registered_agent(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, token = registered(http, workspace)
    response = get(http, workspace, f"/v1/agents/{agent_id}/audit-logs")
    assert response.status_code == 200, response.text
    assert_no_token(response, token)
    logs = response.json()["logs"]
    assert_entries(logs)
    assert [e["action"] for e in logs] == ["registered"]
    prefix = logs[0]["metadata"].get("tokenPrefix")
    assert isinstance(prefix, str) and token.startswith(prefix) and len(prefix) < len(token)


def test_heartbeats_add_no_audit_entries(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, token = registered(http, workspace)
    before = audit(http, workspace, agent_id)
    assert [e["action"] for e in before] == ["registered"]

    for _ in range(3):
        assert heartbeat(http, agent_id, token).status_code == 200

    def came_online() -> list[dict[str, Any]]:
        logs = audit(http, workspace, agent_id)
        return logs if any(e["action"] == "came_online" for e in logs) else []

    after = wait_for(came_online)
    assert after, "the liveness transition (came_online) never reached the audit log"
    time.sleep(0.3)  # let anything else that the beats might have recorded arrive
    after = audit(http, workspace, agent_id)
    assert_entries(after)
    assert [e["action"] for e in after] == ["came_online", "registered"]
    assert len(after) == len(before) + 1

    # More beats while online: still no new entries.
    for _ in range(3):
        assert heartbeat(http, agent_id, token).status_code == 200
    time.sleep(0.3)
    final = audit(http, workspace, agent_id)
    assert [e["id"] for e in final] == [e["id"] for e in after]
    assert all(token not in str(e) for e in final)
