"""Seed 001 services and diagnostics, called the way the document's curl examples do: the
catalog (register, external, list, details, rename, delete, subdomains) and checks from the hub
and from an agent, against the running system and the reference agent."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from tests.agent.process import AgentProcess
from tests.nats_auth.agents import seed000_agent

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem, free_port
from agentplane.testing.tunnel_targets import HttpTarget

pytestmark = pytest.mark.system


def key(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"], "Content-Type": "application/json"}


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout}s")


def register(http: httpx.Client, ws: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
    return http.post("/v1/services/register", headers=key(ws), json=body)


def start_agent(
    system: RunningSystem, tmp_path: Path, agent_id: str, token: str, *extra: str
) -> AgentProcess:
    """The reference agent with a seed 000 identity, on the system's NATS."""
    agent = AgentProcess(tmp_path / "state", tmp_path / "agent.log")
    agent.start("--server", system.base_url, "--agent-id", agent_id, "--token", token,
                "--nats-url", system.nats_url, *extra)  # fmt: skip
    return agent


@pytest.fixture
def site(tmp_path: Path) -> Iterator[HttpTarget]:
    files = tmp_path / "www"
    files.mkdir()
    (files / "index.html").write_text("hello")
    web = HttpTarget(files)
    yield web
    web.close()


def test_register_list_get_rename_delete_as_documented(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    agent_id, _ = seed000_agent(http, workspace)
    # curl -X POST …/v1/services/register -d '{"agentId": …, "name": "prod-db", …}'
    response = register(http, workspace, {
        "agentId": agent_id, "name": "prod-db", "targetHost": "localhost",
        "targetPort": 5432, "protocol": "tcp", "isPublic": False,
    })  # fmt: skip
    assert response.status_code in (200, 201), response.text
    body = response.json()
    service = body["service"]
    assert body["success"] is True and service["id"].startswith("svc_")
    assert service["name"] == "prod-db" and service["protocol"] == "tcp"
    assert service["isPublic"] is False and service["publicUrl"] is None
    first, last = (int(n) for n in system.tunnel_ports.split("-"))
    assert first <= service["tunnelPort"] <= last
    # Not checked yet, and soon inactive: its agent never connected.
    assert service["status"] in ("unknown", "inactive")

    def shown_status() -> str:
        found = http.get(f"/v1/services/{service['id']}", headers=key(workspace))
        status: str = found.json()["status"]
        return status

    wait_for(lambda: shown_status() == "inactive", 30, "status inactive")

    # protocol auto resolves by port, as the document's table says.
    resolved = {}
    for port in (80, 8080, 3000, 5000, 443, 8443, 5432, 3306, 27017, 6379, 9999):
        auto = {"agentId": agent_id, "name": f"auto-{port}", "targetHost": "127.0.0.1",
                "targetPort": port}  # fmt: skip
        made = register(http, workspace, auto)
        assert made.status_code in (200, 201), made.text
        resolved[port] = made.json()["service"]["protocol"]
    assert resolved == {80: "http", 8080: "http", 3000: "http", 5000: "http", 443: "https",
                        8443: "https", 5432: "tcp", 3306: "tcp", 27017: "tcp", 6379: "tcp",
                        9999: "tcp"}  # fmt: skip
    ports = [s["tunnelPort"] for s in http.get("/v1/services", headers=key(workspace)).json()]
    assert len(ports) == len(set(ports)) == 12

    # curl …/v1/services
    listed = http.get("/v1/services", headers=key(workspace))
    assert listed.status_code == 200
    entry = next(s for s in listed.json() if s["id"] == service["id"])
    for field in ("id", "name", "agentId", "targetHost", "targetPort", "tunnelPort", "protocol",
                  "status", "isPublic", "isExternal", "lastCheckAt", "createdAt"):  # fmt: skip
        assert field in entry, field
    assert entry["agentId"] == agent_id and entry["isExternal"] is False
    assert entry["createdAt"].endswith("Z")
    # A page with limit/cursor.
    page = http.get("/v1/services", headers=key(workspace), params={"limit": 5})
    assert len(page.json()) == 5 and page.headers.get("X-Next-Cursor")

    # curl …/v1/services/svc_123
    details = http.get(f"/v1/services/{service['id']}", headers=key(workspace)).json()
    for field in ("publicSubdomain", "publicUrl", "lastCheckAt", "lastCheckStatus"):
        assert field in details, field
    assert details["targetHost"] == "localhost" and details["tunnelPort"] == service["tunnelPort"]

    # The agent's details and the orchestration view list it.
    agent = http.get(f"/v1/agents/{agent_id}", headers=key(workspace)).json()
    assert {"id": service["id"], "name": "prod-db", "targetPort": 5432,
            "status": "inactive"} in agent["services"]  # fmt: skip

    # curl -X PATCH …/v1/services/svc_123 -d '{"name": "production-database"}'
    renamed = http.patch(f"/v1/services/{service['id']}", headers=key(workspace),
                         json={"name": "production-database"})  # fmt: skip
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["success"] is True
    assert renamed.json()["service"]["name"] == "production-database"
    # The old name is free again; a taken one is 409.
    again = register(http, workspace, {"agentId": agent_id, "name": "prod-db",
                                      "targetHost": "localhost", "targetPort": 5433})  # fmt: skip
    assert again.status_code in (200, 201), again.text
    clash = http.patch(f"/v1/services/{service['id']}", headers=key(workspace),
                       json={"name": "prod-db"})  # fmt: skip
    assert clash.status_code == 409

    # curl -X DELETE …/v1/services/svc_123
    deleted = http.delete(f"/v1/services/{service['id']}", headers=key(workspace))
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    assert http.get(f"/v1/services/{service['id']}", headers=key(workspace)).status_code == 404
    assert http.delete(f"/v1/services/{service['id']}", headers=key(workspace)).status_code == 404
    agent = http.get(f"/v1/agents/{agent_id}", headers=key(workspace)).json()
    assert service["id"] not in [s["id"] for s in agent["services"]]
    # The agent's audit log names what happened to its services.
    logs = http.get(f"/v1/agents/{agent_id}/audit-logs", headers=key(workspace)).json()["logs"]
    actions = [entry["action"] for entry in logs]
    assert {"service_registered", "service_renamed", "service_deleted"} <= set(actions)
    assert actions.count("registered") == 0  # provisioned, never registered


def test_invalid_input_names_the_field_and_unknown_ids_are_404(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, _ = seed000_agent(http, workspace)
    good = {"agentId": agent_id, "name": "ok-name", "targetHost": "localhost", "targetPort": 80}
    for field, value in (("name", "bad name!"), ("name", ""), ("name", "x" * 101),
                         ("targetPort", 0), ("targetPort", 65536), ("targetHost", "h" * 254),
                         ("protocol", "smtp"), ("agentId", "not-a-uuid")):  # fmt: skip
        response = register(http, workspace, {**good, field: value})
        assert response.status_code == 400, (field, value, response.text)
        assert field in response.text, (field, response.text)
    for missing in ("agentId", "name", "targetHost", "targetPort"):
        body = {k: v for k, v in good.items() if k != missing}
        assert register(http, workspace, body).status_code == 400, missing
    assert register(http, workspace, {**good, "agentId": str(uuid4())}).status_code == 404
    made = register(http, workspace, good)
    assert made.status_code in (200, 201)
    assert register(http, workspace, good).status_code == 409  # same name
    # Another workspace sees nothing of it, and cannot use this workspace's agent.
    other = create_workspace(http, system_admin(http))
    sid = made.json()["service"]["id"]
    assert http.get(f"/v1/services/{sid}", headers=key(other)).status_code == 404
    assert http.delete(f"/v1/services/{sid}", headers=key(other)).status_code == 404
    assert http.post(f"/v1/services/{sid}/check", headers=key(other)).status_code == 404
    assert register(http, other, good).status_code == 404  # the agent is not theirs
    assert http.get("/v1/services", headers=key(other)).json() == []
    for path in ("/v1/services/svc_nope", "/v1/services/whatever"):
        assert http.get(path, headers=key(workspace)).status_code == 404
    assert http.get("/v1/services", headers={"x-api-key": "pc_wrong"}).status_code == 401
    # The list's agent filter is a UUID: anything else names agentId in a 400 (was a 500).
    for bad in ("", "not-a-uuid"):
        listed = http.get("/v1/services", params={"agentId": bad}, headers=key(workspace))
        assert listed.status_code == 400 and "agentId" in listed.text, (bad, listed.text)
    mine = http.get("/v1/services", params={"agentId": agent_id}, headers=key(workspace))
    assert [s["id"] for s in mine.json()] == [sid]


_ADMIN: dict[str, str] = {}


def system_admin(http: httpx.Client) -> str:
    return _ADMIN["token"]


@pytest.fixture(autouse=True)
def _admin(system: RunningSystem) -> None:
    _ADMIN["token"] = system.admin_token


def test_subdomains_as_documented(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, _ = seed000_agent(http, workspace)
    public = register(http, workspace, {"agentId": agent_id, "name": "staging-api",
                                       "targetHost": "localhost", "targetPort": 8080,
                                       "isPublic": True}).json()["service"]  # fmt: skip
    private = register(
        http,
        workspace,
        {"agentId": agent_id, "name": "private-api", "targetHost": "localhost", "targetPort": 8081},
    ).json()["service"]
    wanted = f"my-{uuid4().hex[:12]}"
    # curl "…/subdomain/check?subdomain=my-staging-api"
    check = http.get(f"/v1/services/{public['id']}/subdomain/check", headers=key(workspace),
                     params={"subdomain": wanted})  # fmt: skip
    assert check.status_code == 200
    assert check.json() == {"available": True, "valid": True, "subdomain": f"pc-{wanted}",
                            "publicUrl": f"https://pc-{wanted}.localhost"}  # fmt: skip
    # curl -X PATCH …/subdomain -d '{"subdomain": "my-staging-api"}'
    made = http.patch(f"/v1/services/{public['id']}/subdomain", headers=key(workspace),
                      json={"subdomain": wanted})  # fmt: skip
    assert made.status_code == 200, made.text
    assert made.json() == {"success": True, "service": {
        "id": public["id"], "publicSubdomain": f"pc-{wanted}", "isPublic": True,
        "publicUrl": f"https://pc-{wanted}.localhost"}}  # fmt: skip
    details = http.get(f"/v1/services/{public['id']}", headers=key(workspace)).json()
    assert details["publicSubdomain"] == f"pc-{wanted}"
    # Taken, for any workspace; invalid ones say why.
    other = create_workspace(http, system_admin(http))
    other_agent, _ = seed000_agent(http, other)
    spec = {"agentId": other_agent, "name": "x", "targetHost": "h", "targetPort": 80,
            "isPublic": True}  # fmt: skip
    theirs = register(http, other, spec).json()["service"]
    taken = http.get(f"/v1/services/{theirs['id']}/subdomain/check", headers=key(other),
                     params={"subdomain": wanted}).json()  # fmt: skip
    assert taken == {"available": False, "valid": True, "error": "Subdomain is already taken"}
    assert http.patch(f"/v1/services/{theirs['id']}/subdomain", headers=key(other),
                      json={"subdomain": wanted}).status_code == 409  # fmt: skip
    for bad in ("ab", "x" * 33, "Upper", "under_score", "-edge"):
        found = http.get(f"/v1/services/{public['id']}/subdomain/check", headers=key(workspace),
                         params={"subdomain": bad}).json()  # fmt: skip
        assert found["valid"] is False and found["available"] is False and found["error"], bad
        refused = http.patch(f"/v1/services/{public['id']}/subdomain", headers=key(workspace),
                             json={"subdomain": bad})  # fmt: skip
        assert refused.status_code == 400 and "subdomain" in refused.text, bad
    # The service must be public.
    not_public = http.patch(f"/v1/services/{private['id']}/subdomain", headers=key(workspace),
                            json={"subdomain": f"p-{uuid4().hex[:10]}"})  # fmt: skip
    assert not_public.status_code == 400 and "isPublic" in not_public.text
    # null clears; then another workspace may take it.
    cleared = http.patch(f"/v1/services/{public['id']}/subdomain", headers=key(workspace),
                         json={"subdomain": None})  # fmt: skip
    assert cleared.json()["service"]["publicSubdomain"] is None
    assert cleared.json()["service"]["publicUrl"] is None
    assert http.patch(f"/v1/services/{theirs['id']}/subdomain", headers=key(other),
                      json={"subdomain": wanted}).status_code == 200  # fmt: skip


def test_external_service_is_checked_at_once_and_on_demand(
    http: httpx.Client, workspace: dict[str, Any], site: HttpTarget
) -> None:
    # curl -X POST …/v1/services/external -d '{"name": "external-api", …}'
    made = http.post("/v1/services/external", headers=key(workspace), json={
        "name": "external-api", "targetHost": "127.0.0.1", "targetPort": site.port,
        "protocol": "http"})  # fmt: skip
    assert made.status_code in (200, 201), made.text
    service = made.json()["service"]
    assert made.json()["success"] is True and service["isExternal"] is True
    assert service["targetHost"] == "127.0.0.1" and service["protocol"] == "http"
    assert service["tunnelPort"] is None and service["agentId"] is None
    # The initial check already ran.
    assert service["lastCheckAt"] and service["status"] == "active"
    assert service["lastCheckStatus"] == "OK"

    # curl -X POST …/v1/services/svc_123/check
    checked = http.post(f"/v1/services/{service['id']}/check", headers=key(workspace))
    assert checked.status_code == 200, checked.text
    body = checked.json()
    diagnostic = body["diagnostic"]
    assert body["success"] is True and diagnostic["id"].startswith("diag_")
    assert diagnostic["serviceId"] == service["id"] and diagnostic["perspective"] == "hub"
    assert diagnostic["tcpStatus"] == "OK" and isinstance(diagnostic["tcpLatencyMs"], int)
    assert diagnostic["tlsStatus"] == "N/A"
    assert diagnostic["httpStatus"] == "OK" and diagnostic["httpStatusCode"] == 200
    assert body["service"]["status"] == "active" and body["service"]["lastCheckAt"]

    # A dead target: a failure with its reason; the first failures keep `active` (threshold).
    dead_port = free_port()
    dead = http.post("/v1/services/external", headers=key(workspace), json={
        "name": "dead-api", "targetHost": "127.0.0.1", "targetPort": dead_port})  # fmt: skip
    dead_service = dead.json()["service"]
    assert dead_service["status"] == "error" and dead_service["lastCheckStatus"] == "TCP_FAILED"
    failed = http.post(f"/v1/services/{dead_service['id']}/check", headers=key(workspace))
    assert failed.json()["diagnostic"]["tcpStatus"] == "FAILED"
    assert failed.json()["diagnostic"]["tcpError"]

    # curl "…/v1/services/svc_123/diagnostics?limit=50": newest first. The creation's check,
    # this one, and the scheduler's first check of a new service.
    def history_of(limit: int = 50) -> list[dict[str, Any]]:
        found = http.get(f"/v1/services/{service['id']}/diagnostics", headers=key(workspace),
                         params={"limit": limit})  # fmt: skip
        assert found.status_code == 200
        items: list[dict[str, Any]] = found.json()
        return items

    items = wait_for(lambda: len(history_of()) >= 3 and history_of(), 30, "the first checks")
    assert diagnostic["id"] in [d["id"] for d in items]
    times = [d["timestamp"] for d in items]
    assert times == sorted(times, reverse=True)
    documented = (
        "id",
        "serviceId",
        "tcpStatus",
        "tcpLatencyMs",
        "tlsStatus",
        "httpStatus",
        "httpStatusCode",
        "httpLatencyMs",
        "perspective",
        "sourceAgent",
        "timestamp",
    )
    for field in documented:
        assert field in items[0], field
    assert history_of(1) == items[:1]
    assert http.get(f"/v1/services/{service['id']}/diagnostics", headers=key(workspace),
                    params={"limit": 0}).status_code == 400  # fmt: skip

    # An active service whose target stops turns error after three failed checks.
    site.close()
    statuses = [http.post(f"/v1/services/{service['id']}/check", headers=key(workspace))
                .json()["service"]["status"] for _ in range(3)]  # fmt: skip
    assert statuses == ["active", "active", "error"]


def test_agent_service_checked_through_its_tunnel_and_reached_from_the_agent(
    system: RunningSystem,
    http: httpx.Client,
    workspace: dict[str, Any],
    site: HttpTarget,
    tmp_path: Path,
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    agent = start_agent(system, tmp_path, agent_id, token)
    try:
        made = register(http, workspace, {"agentId": agent_id, "name": "web",
                                         "targetHost": "127.0.0.1", "targetPort": site.port,
                                         "protocol": "http"})  # fmt: skip
        service = made.json()["service"]

        def active() -> bool:
            shown = http.get(f"/v1/services/{service['id']}", headers=key(workspace)).json()
            return shown["status"] != "inactive"

        wait_for(active, 30, "the agent online")

        def hub_ok() -> dict[str, Any] | None:
            body = http.post(f"/v1/services/{service['id']}/check", headers=key(workspace))
            found = body.json()
            return found if found["diagnostic"]["httpStatus"] == "OK" else None

        # The hub's check goes through the edge's tunnel port to the agent's target.
        checked = wait_for(hub_ok, 30, "a hub check through the tunnel")
        assert checked["service"]["status"] == "active"

        # curl -X POST …/reach -d '{"sourceAgentId": …, "mode": "tcp", "timeoutMs": 5000}'
        reach = http.post(f"/v1/services/{service['id']}/reach", headers=key(workspace), json={
            "sourceAgentId": agent_id, "mode": "tcp", "timeoutMs": 5000})  # fmt: skip
        assert reach.status_code == 200, reach.text
        body = reach.json()
        assert body["success"] is True
        assert body["diagnostic"]["perspective"] == "agent"
        assert body["diagnostic"]["sourceAgent"] and body["diagnostic"]["tcpStatus"] == "OK"
        assert isinstance(body["diagnostic"]["tcpLatencyMs"], int)
        assert body["session"]["id"].startswith("sess_")
        assert body["session"]["outcome"] == "success"
        http_reach = http.post(f"/v1/services/{service['id']}/reach", headers=key(workspace),
                               json={"sourceAgentId": agent_id, "mode": "http"})  # fmt: skip
        assert http_reach.json()["diagnostic"]["httpStatusCode"] == 200
        sessions = http.get(f"/v1/services/{service['id']}/sessions", headers=key(workspace))
        assert [s["outcome"] for s in sessions.json()] == ["success", "success"]
        history = http.get(f"/v1/services/{service['id']}/diagnostics", headers=key(workspace))
        assert {d["perspective"] for d in history.json()} == {"hub", "agent"}

        # Out-of-range timeouts are 400; a target that stopped is a failure from both sides.
        for timeout in (999, 30001):
            bad = http.post(f"/v1/services/{service['id']}/reach", headers=key(workspace),
                            json={"sourceAgentId": agent_id, "timeoutMs": timeout})  # fmt: skip
            assert bad.status_code == 400 and "timeoutMs" in bad.text
        site.close()
        down = http.post(f"/v1/services/{service['id']}/reach", headers=key(workspace),
                         json={"sourceAgentId": agent_id, "mode": "tcp"}).json()  # fmt: skip
        assert down["diagnostic"]["tcpStatus"] == "FAILED"
        assert down["session"]["outcome"] == "failure"
        # Failures from the hub too; after three in a row the service is `error`.
        statuses = []
        for _ in range(3):
            hub = http.post(f"/v1/services/{service['id']}/check", headers=key(workspace)).json()
            assert hub["diagnostic"]["httpStatus"] == "FAILED"
            statuses.append(hub["service"]["status"])
        assert statuses[-1] == "error", statuses
    finally:
        agent.kill()
    # An agent that is gone: 409 "Agent offline or unreachable" (its state, not an outage).
    gone = http.post(f"/v1/services/{service['id']}/reach", headers=key(workspace),
                     json={"sourceAgentId": agent_id})  # fmt: skip
    assert gone.status_code == 409 and "Agent offline or unreachable" in gone.text
    assert token not in agent.log()


def test_a_public_subdomain_serves_the_service_by_host(
    system: RunningSystem,
    http: httpx.Client,
    workspace: dict[str, Any],
    site: HttpTarget,
    tmp_path: Path,
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    agent = start_agent(system, tmp_path, agent_id, token)
    try:
        spec = {"agentId": agent_id, "name": "site", "targetHost": "127.0.0.1",
                "targetPort": site.port, "protocol": "http", "isPublic": True}  # fmt: skip
        public = register(http, workspace, spec).json()["service"]
        hidden = {**spec, "name": "hidden", "isPublic": False}
        private = register(http, workspace, hidden).json()["service"]
        name = f"site-{uuid4().hex[:8]}"
        made = http.patch(f"/v1/services/{public['id']}/subdomain", headers=key(workspace),
                          json={"subdomain": name})  # fmt: skip
        assert made.json()["service"]["publicUrl"] == f"https://pc-{name}.localhost"
        edge = f"http://127.0.0.1:{system.public_http_port}/index.html"

        def served() -> httpx.Response | None:
            try:
                found = httpx.get(edge, headers={"Host": f"pc-{name}.localhost"}, timeout=10)
            except httpx.HTTPError:
                return None
            return found if found.status_code == 200 else None

        page = wait_for(served, 30, "the public URL")
        assert page.text == "hello"
        unknown = httpx.get(edge, headers={"Host": "pc-nobody.localhost"}, timeout=10)
        assert unknown.status_code == 404
        # A service that is not public is never reachable this way, whatever its name.
        assert private["publicSubdomain"] is None
        cleared = http.patch(f"/v1/services/{public['id']}/subdomain", headers=key(workspace),
                             json={"subdomain": None})  # fmt: skip
        assert cleared.status_code == 200
        gone = wait_for(
            lambda: httpx.get(edge, headers={"Host": f"pc-{name}.localhost"}, timeout=10)
            .status_code == 404,
            30, "the cleared subdomain to stop serving",
        )  # fmt: skip
        assert gone
    finally:
        agent.kill()


def test_an_expose_command_registers_the_service_and_the_agent_carries_it(
    system: RunningSystem,
    http: httpx.Client,
    workspace: dict[str, Any],
    site: HttpTarget,
    tmp_path: Path,
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    agent = start_agent(system, tmp_path, agent_id, token, "--allow", f"127.0.0.1:{site.port}")
    try:
        # curl -X POST …/v1/agents/{id}/command -d '{"action": "expose", "params": {…}}'
        sent = http.post(f"/v1/agents/{agent_id}/command", headers=key(workspace), json={
            "action": "expose", "params": {"name": "exposed-web", "targetHost": "127.0.0.1",
                                           "targetPort": site.port}})  # fmt: skip
        assert sent.status_code in (200, 201), sent.text
        assert sent.json()["message"] == "Command 'expose' sent to agent"
        command_id = sent.json()["commandId"]

        def finished() -> dict[str, Any] | None:
            found = http.get(f"/v1/agents/{agent_id}/commands/{command_id}",
                             headers=key(workspace)).json()  # fmt: skip
            return found if found["status"] in ("succeeded", "failed") else None

        state = wait_for(finished, 30, "the expose command's result")
        assert state["status"] == "succeeded", state
        service = next(s for s in http.get("/v1/services", headers=key(workspace)).json()
                       if s["name"] == "exposed-web")  # fmt: skip
        assert state["result"]["serviceId"] == service["id"]
        assert state["result"]["tunnelPort"] == service["tunnelPort"]
        assert service["agentId"] == agent_id and service["protocol"] == "tcp"
        url = f"http://127.0.0.1:{service['tunnelPort']}/index.html"

        def through_tunnel() -> httpx.Response | None:
            try:
                return httpx.get(url, timeout=10)
            except httpx.HTTPError:
                return None

        page = wait_for(through_tunnel, 30, "the exposed service through its tunnel")
        assert page.text == "hello"
        # Invalid params are 400 naming them; a taken name is 409; nothing is queued.
        bad = http.post(f"/v1/agents/{agent_id}/command", headers=key(workspace),
                        json={"action": "expose", "params": {"name": "x"}})  # fmt: skip
        assert bad.status_code == 400 and "params" in bad.text
        taken = http.post(f"/v1/agents/{agent_id}/command", headers=key(workspace), json={
            "action": "expose", "params": {"name": "exposed-web", "targetHost": "127.0.0.1",
                                           "targetPort": site.port}})  # fmt: skip
        assert taken.status_code == 409
    finally:
        agent.kill()


def test_creates_with_an_idempotency_key_are_made_once(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, _ = seed000_agent(http, workspace)
    body = {"agentId": agent_id, "name": "once", "targetHost": "h", "targetPort": 5432}
    headers = {**key(workspace), "Idempotency-Key": str(uuid4())}
    first = http.post("/v1/services/register", headers=headers, json=body)
    again = http.post("/v1/services/register", headers=headers, json=body)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json()["service"]["id"] == first.json()["service"]["id"]
    assert again.json()["service"]["tunnelPort"] == first.json()["service"]["tunnelPort"]
    other = http.post("/v1/services/register", headers=headers, json={**body, "name": "twice"})
    assert other.status_code == 409  # the key was used for another request
    names = [s["name"] for s in http.get("/v1/services", headers=key(workspace)).json()]
    assert names.count("once") == 1 and "twice" not in names
    ext = {"name": "ext-once", "targetHost": "127.0.0.1", "targetPort": free_port()}
    ext_headers = {**key(workspace), "Idempotency-Key": str(uuid4())}
    made = http.post("/v1/services/external", headers=ext_headers, json=ext)
    repeat = http.post("/v1/services/external", headers=ext_headers, json=ext)
    assert made.json()["service"]["id"] == repeat.json()["service"]["id"]
