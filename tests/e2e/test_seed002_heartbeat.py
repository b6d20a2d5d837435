"""Seed 002 (Orchestrator Agent APIs): `POST /api/v1/agents/{id}/heartbeat`.

Called the way the seed shows it: the agent's bearer JWT (or its mTLS client certificate) and
the documented body `{status, resourceUsage{cpu,memory,disk}, capabilities, runningTasks}`;
the answer is `{tasks: [...], certificateRenewal?}`. Liveness shows in the operator's list
(`status` online|offline|degraded, `lastHeartbeat`, `resourceUsage`) and its filters. Offline
detection (three missed `heartbeatInterval`s) and certificate renewal run against a system
with a 1 s interval and a 300 s certificate renewed within its last 290 s.
"""

from __future__ import annotations

import json
import re
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem, free_port

pytestmark = pytest.mark.system

ISO_S = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
REGISTER_BODY = {
    "name": "agent-prod-01",
    "version": "1.0.0",
    "capabilities": ["docker", "compose"],
    "labels": {"datacenter": "us-east-1", "role": "deployment"},
}
DOC_HEARTBEAT: dict[str, Any] = {
    "status": "healthy",
    "resourceUsage": {"cpu": 15.5, "memory": 45.2, "disk": 60.0},
    "capabilities": ["docker", "compose"],
    "runningTasks": 2,
}
FORBIDDEN = "Agent not authorized for this operation"
NOT_FOUND = "Agent not found"
# The short-interval system: heartbeatInterval 1 s (offline after 3 s), liveness swept every
# second; certificates live 300 s and are renewed within their last 290 s.
FAST_INTERVAL = 1
CERT_TTL = 300
RENEW_BEFORE = 290
SWEEP = 1.0


# -- helpers ------------------------------------------------------------------------------


def key_headers(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"], "Content-Type": "application/json"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def parse_ts(value: str) -> datetime:
    assert isinstance(value, str) and ISO_S.match(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def registered(http: httpx.Client, ws: dict[str, Any], **body: Any) -> dict[str, Any]:
    token = http.post(
        "/v1/enrollment-tokens", json={"kind": "registration"}, headers=key_headers(ws)
    ).json()["token"]
    payload = {**REGISTER_BODY, "name": f"agent-{uuid.uuid4().hex[:8]}", **body}
    response = http.post(
        "/api/v1/agents/register",
        json=payload,
        headers={"X-Agent-Token": token, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def heartbeat(
    http: httpx.Client,
    agent: dict[str, Any],
    body: Any = None,
    headers: dict[str, str] | None = None,
    agent_id: str | None = None,
) -> httpx.Response:
    return http.post(
        f"/api/v1/agents/{agent_id or agent['agentId']}/heartbeat",
        json=DOC_HEARTBEAT if body is None else body,
        headers=bearer(agent["token"]) if headers is None else headers,
    )


def beat_ok(http: httpx.Client, agent: dict[str, Any], **changes: Any) -> dict[str, Any]:
    response = heartbeat(http, agent, {**DOC_HEARTBEAT, **changes})
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_error(response: httpx.Response, status: int, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    if message is not None:
        assert body["error"] == message, body


def assert_invalid(response: httpx.Response, field: str) -> None:
    assert_error(response, 400)
    named = [f.get("field") for f in response.json().get("details", {}).get("fields", [])]
    assert field in named, response.text


def listed(http: httpx.Client, ws: dict[str, Any], **params: str) -> list[dict[str, Any]]:
    response = http.get("/api/v1/agents", params=params, headers=key_headers(ws))
    assert response.status_code == 200, response.text
    return list(response.json())


def ids(http: httpx.Client, ws: dict[str, Any], **params: str) -> list[str]:
    return [a["id"] for a in listed(http, ws, **params)]


def details(http: httpx.Client, ws: dict[str, Any], agent: dict[str, Any]) -> dict[str, Any]:
    response = http.get(f"/api/v1/agents/{agent['agentId']}", headers=key_headers(ws))
    assert response.status_code == 200, response.text
    return dict(response.json())


def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1) -> Any:
    """The first truthy result of `check` within `timeout` (the audit log and the telemetry
    channel are fed asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def audit(http: httpx.Client, ws: dict[str, Any], agent: dict[str, Any]) -> list[dict[str, Any]]:
    """The agent's audit log, oldest first (the endpoint lists newest first)."""
    response = http.get(f"/v1/agents/{agent['agentId']}/audit-logs", headers=key_headers(ws))
    assert response.status_code == 200, response.text
    return sorted(response.json()["logs"], key=lambda e: (e["timestamp"], e["id"]))


def reported_statuses(logs: list[dict[str, Any]]) -> list[str]:
    return [
        e["metadata"]["changes"]["reported_status"]
        for e in logs
        if e["action"] == "attributes_updated"
        and "reported_status" in e["metadata"].get("changes", {})
    ]


# -- the documented heartbeat ----------------------------------------------------------------


def test_heartbeat_doc_example(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent = registered(http, workspace)
    assert details(http, workspace, agent)["status"] == "offline"
    before = datetime.now(UTC).replace(microsecond=0)
    response = http.post(
        f"/api/v1/agents/{agent['agentId']}/heartbeat",
        json=DOC_HEARTBEAT,
        headers={"Authorization": f"Bearer {agent['token']}", "Content-Type": "application/json"},
    )
    after = datetime.now(UTC)
    assert response.status_code == 200, response.text
    # Nothing pending; the certificate has 24 h left and came with no mTLS request anyway.
    assert response.json() == {"tasks": []}

    def reported() -> dict[str, Any] | None:
        found = listed(http, workspace)[0]
        return found if found["resourceUsage"] is not None else None

    summary = eventually(reported)
    assert summary, listed(http, workspace)
    assert summary["id"] == agent["agentId"]
    assert summary["status"] == "online"
    assert before <= parse_ts(summary["lastHeartbeat"]) <= after
    assert summary["resourceUsage"] == {"cpu": 15.5, "memory": 45.2, "disk": 60.0}
    assert summary["capabilities"] == ["docker", "compose"]
    full = details(http, workspace, agent)
    assert full["status"] == "online"
    assert full["lastHeartbeat"] == summary["lastHeartbeat"]
    assert full["resourceUsage"] == summary["resourceUsage"]
    # One fleet: the seed 000 list sees the same liveness.
    fleet = {a["id"]: a for a in http.get("/v1/agents", headers=key_headers(workspace)).json()}
    assert fleet[agent["agentId"]]["isOnline"] is True


def test_heartbeat_moves_last_heartbeat_and_usage(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent = registered(http, workspace)
    beat_ok(http, agent)
    first = parse_ts(details(http, workspace, agent)["lastHeartbeat"])
    time.sleep(1.1)
    beat_ok(http, agent, resourceUsage={"cpu": 90.0, "memory": 10.0})
    assert parse_ts(details(http, workspace, agent)["lastHeartbeat"]) > first
    # The newest heartbeat's usage, as it was reported (no disk this time).
    usage = eventually(
        lambda: details(http, workspace, agent)["resourceUsage"] == {"cpu": 90.0, "memory": 10.0}
    )
    assert usage, details(http, workspace, agent)


def test_minimal_heartbeat_is_status_only(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent = registered(http, workspace)
    response = heartbeat(http, agent, {"status": "healthy"})
    assert response.status_code == 200, response.text
    assert response.json() == {"tasks": []}
    found = details(http, workspace, agent)
    assert found["status"] == "online"
    # Nothing reported, nothing shown; capabilities stay as registered.
    assert found["resourceUsage"] is None
    assert found["capabilities"] == ["docker", "compose"]


# -- degraded, filters ---------------------------------------------------------------------


def test_reported_status_other_than_healthy_is_degraded(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent = registered(http, workspace)
    beat_ok(http, agent, status="unhealthy")
    assert details(http, workspace, agent)["status"] == "degraded"
    assert ids(http, workspace, status="degraded") == [agent["agentId"]]
    assert ids(http, workspace, status="online") == []
    beat_ok(http, agent, status="healthy")
    assert details(http, workspace, agent)["status"] == "online"
    assert ids(http, workspace, status="degraded") == []
    beat_ok(http, agent, status="draining")
    assert details(http, workspace, agent)["status"] == "degraded"


def test_only_changes_of_the_reported_status_are_recorded(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent = registered(http, workspace)
    for status in ("healthy", "healthy", "healthy", "unhealthy", "unhealthy", "healthy"):
        beat_ok(http, agent, status=status)
    expected = ["healthy", "unhealthy", "healthy"]

    def recorded() -> list[dict[str, Any]]:
        logs = audit(http, workspace, agent)
        return logs if len(reported_statuses(logs)) >= len(expected) else []

    logs = eventually(recorded) or audit(http, workspace, agent)
    assert reported_statuses(logs) == expected, logs
    # Beats themselves never become events.
    actions = [e["action"] for e in logs]
    assert actions.count("capabilities_replaced") == 1, actions  # the registration's


def test_list_filters_reflect_heartbeats(http: httpx.Client, workspace: dict[str, Any]) -> None:
    healthy = registered(http, workspace, capabilities=["docker", "compose"])
    sick = registered(http, workspace, capabilities=["ssh"])
    silent = registered(http, workspace, capabilities=["docker"])
    beat_ok(http, healthy, capabilities=["docker", "compose"])
    beat_ok(http, sick, status="unhealthy", capabilities=["ssh"])

    assert ids(http, workspace, status="online") == [healthy["agentId"]]
    assert ids(http, workspace, status="degraded") == [sick["agentId"]]
    assert ids(http, workspace, status="offline") == [silent["agentId"]]
    assert ids(http, workspace, status="online", capability="docker") == [healthy["agentId"]]
    assert ids(http, workspace, status="offline", capability="docker") == [silent["agentId"]]
    assert ids(http, workspace, status="degraded", capability="docker") == []
    assert ids(http, workspace, capability="docker") == [healthy["agentId"], silent["agentId"]]
    by_id = {a["id"]: a for a in listed(http, workspace)}
    assert by_id[silent["agentId"]]["lastHeartbeat"] is None
    assert by_id[silent["agentId"]]["resourceUsage"] is None
    assert by_id[sick["agentId"]]["status"] == "degraded"


def test_reported_capabilities_replace_registered_ones_on_change_only(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent = registered(http, workspace, capabilities=["docker", "compose"])
    beat_ok(http, agent, capabilities=["docker", "compose"])
    beat_ok(http, agent, capabilities=["compose", "docker"])  # same set, other order
    beat_ok(http, agent, status="healthy", capabilities=None)  # not reported: unchanged
    assert details(http, workspace, agent)["capabilities"] == ["docker", "compose"]

    beat_ok(http, agent, capabilities=["docker", "ssh"])
    assert details(http, workspace, agent)["capabilities"] == ["docker", "ssh"]
    assert ids(http, workspace, capability="ssh") == [agent["agentId"]]
    assert ids(http, workspace, capability="compose") == []
    beat_ok(http, agent, capabilities=["docker", "ssh"])

    def replaced() -> list[dict[str, Any]]:
        logs = audit(http, workspace, agent)
        found = [e for e in logs if e["action"] == "capabilities_replaced"]
        return found if len(found) >= 2 else []

    entries = eventually(replaced)
    # The registration's set, then the one change.
    assert [[c["name"] for c in e["metadata"]["capabilities"]] for e in entries] == [
        ["docker", "compose"],
        ["docker", "ssh"],
    ]
    # An empty report is a change too: the agent has no capability left.
    beat_ok(http, agent, capabilities=[])
    assert details(http, workspace, agent)["capabilities"] == []


# -- rejections ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer " + "x" * 5000},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"x-api-key": "pc_wrong"},
        # Only the TLS terminator can assert a client certificate.
        {"X-Agentplane-Client-Cert-CN": "self", "X-Agentplane-Client-Cert-Serial": "1"},
    ],
)
def test_missing_or_invalid_credentials_are_401(
    http: httpx.Client, workspace: dict[str, Any], headers: dict[str, str]
) -> None:
    agent = registered(http, workspace)
    if headers.get("X-Agentplane-Client-Cert-CN") == "self":
        headers = {**headers, "X-Agentplane-Client-Cert-CN": agent["agentId"]}
    assert_error(heartbeat(http, agent, headers=headers), 401)
    # Credentials are checked before the body.
    assert_error(heartbeat(http, agent, {"status": 5}, headers=headers), 401)
    assert details(http, workspace, agent)["status"] == "offline"


def test_forged_expired_or_revoked_tokens_are_401(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent = registered(http, workspace)
    claims = jwt.decode(agent["token"], options={"verify_signature": False})
    forged = jwt.encode({**claims, "exp": claims["exp"] + 3600}, "x" * 32, algorithm="HS256")
    assert_error(heartbeat(http, agent, headers=bearer(forged)), 401)
    expired = jwt.encode({**claims, "exp": claims["iat"] - 1}, "x" * 32, algorithm="HS256")
    assert_error(heartbeat(http, agent, headers=bearer(expired)), 401)
    # A deleted agent's token stops working at once.
    assert http.delete(
        f"/api/v1/agents/{agent['agentId']}", headers=key_headers(workspace)
    ).json() == {"deleted": True}
    assert_error(heartbeat(http, agent), 401)


def test_another_agents_heartbeat_is_403(http: httpx.Client, workspace: dict[str, Any]) -> None:
    me = registered(http, workspace)
    peer = registered(http, workspace)
    response = heartbeat(http, me, agent_id=peer["agentId"])
    assert_error(response, 403, FORBIDDEN)
    # An agent token opens only its own endpoints, whatever the other id is.
    assert_error(heartbeat(http, me, agent_id=str(uuid.uuid4())), 403, FORBIDDEN)
    assert_error(heartbeat(http, me, agent_id="not-a-uuid"), 403, FORBIDDEN)
    # The peer was not made online by it.
    assert details(http, workspace, peer)["status"] == "offline"
    assert details(http, workspace, peer)["lastHeartbeat"] is None


def test_operator_cannot_heartbeat_for_an_agent(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    agent = registered(http, workspace)
    # The agent exists, but only the agent itself heartbeats.
    assert_error(heartbeat(http, agent, headers=key_headers(workspace)), 403, FORBIDDEN)
    assert details(http, workspace, agent)["status"] == "offline"


def test_unknown_agent_is_404(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    agent = registered(http, workspace)
    operator = key_headers(workspace)
    for unknown in (str(uuid.uuid4()), "not-a-uuid"):
        response = heartbeat(http, agent, headers=operator, agent_id=unknown)
        assert_error(response, 404, NOT_FOUND)
    # Another workspace's agent does not exist here.
    other = registered(http, create_workspace(http, system.admin_token))
    assert_error(
        heartbeat(http, agent, headers=operator, agent_id=other["agentId"]), 404, NOT_FOUND
    )
    # A seed 000 agent of this workspace is not an orchestrator agent.
    v1_id = str(uuid.uuid4())
    http.post(
        "/v1/agents/register",
        json={"agentId": v1_id, "token": "agent_tok_" + uuid.uuid4().hex},
        headers=operator,
    ).raise_for_status()
    assert_error(heartbeat(http, agent, headers=operator, agent_id=v1_id), 404, NOT_FOUND)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"resourceUsage": {"cpu": 1.0}}, "status"),
        ({"status": None}, "status"),
        ({"status": 5}, "status"),
        ({"status": ""}, "status"),
        ({"status": "x" * 65}, "status"),
        ({"status": ["healthy"]}, "status"),
        ({"resourceUsage": "high"}, "resourceUsage"),
        ({"resourceUsage": [15.5]}, "resourceUsage"),
        ({"resourceUsage": {"cpu": "15.5"}}, "resourceUsage.cpu"),
        ({"resourceUsage": {"cpu": -1}}, "resourceUsage.cpu"),
        ({"resourceUsage": {"cpu": 100.5}}, "resourceUsage.cpu"),
        ({"resourceUsage": {"memory": True}}, "resourceUsage.memory"),
        ({"resourceUsage": {"memory": 101}}, "resourceUsage.memory"),
        ({"resourceUsage": {"disk": "full"}}, "resourceUsage.disk"),
        ({"resourceUsage": {"disk": -0.1}}, "resourceUsage.disk"),
        ({"capabilities": "docker"}, "capabilities"),
        ({"capabilities": [""]}, "capabilities.0"),
        ({"capabilities": ["docker", 7]}, "capabilities.1"),
        ({"capabilities": ["x" * 65]}, "capabilities.0"),
        ({"capabilities": [f"c{i}" for i in range(51)]}, "capabilities"),
        ({"runningTasks": -1}, "runningTasks"),
        ({"runningTasks": 2.5}, "runningTasks"),
        ({"runningTasks": "2"}, "runningTasks"),
        ({"runningTasks": True}, "runningTasks"),
        ({"runningTasks": 10**9}, "runningTasks"),
    ],
)
def test_invalid_body_is_400_naming_the_field(
    http: httpx.Client, workspace: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    agent = registered(http, workspace)
    payload = {**DOC_HEARTBEAT, **body}
    if "status" not in body and field == "status":
        payload.pop("status")
    assert_invalid(heartbeat(http, agent, payload), field)
    # A refused heartbeat changes nothing.
    found = details(http, workspace, agent)
    assert found["status"] == "offline" and found["lastHeartbeat"] is None


@pytest.mark.parametrize("body", [[], "healthy", 5, None])
def test_body_that_is_not_an_object_is_400(
    http: httpx.Client, workspace: dict[str, Any], body: Any
) -> None:
    agent = registered(http, workspace)
    response = http.post(
        f"/api/v1/agents/{agent['agentId']}/heartbeat",
        content=json.dumps(body).encode(),
        headers=bearer(agent["token"]),
    )
    assert_error(response, 400)


def test_unknown_fields_are_ignored(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent = registered(http, workspace)
    response = heartbeat(http, agent, {**DOC_HEARTBEAT, "uptime": 12, "labels": {"a": "b"}})
    assert response.status_code == 200, response.text
    assert details(http, workspace, agent)["labels"] == REGISTER_BODY["labels"]


# -- the short-interval system: offline detection, certificate renewal ---------------------


class FastSystem:
    def __init__(self, system: RunningSystem, tls_port: int) -> None:
        self.system = system
        self.tls_url = f"https://127.0.0.1:{tls_port}"
        self.http = httpx.Client(base_url=system.base_url, timeout=30.0)
        self.workspace = create_workspace(self.http, system.admin_token)


def wait_listening(url: str, timeout: float = 30.0) -> None:
    import socket

    port = int(url.rsplit(":", 1)[1])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {url}")


@pytest.fixture(scope="module")
def fast(system_factory: Callable[..., RunningSystem]) -> Iterator[FastSystem]:
    tls_port = free_port()
    system = system_factory(
        env={
            "AGENTPLANE_ORCHESTRATOR_HEARTBEAT_INTERVAL_SECONDS": str(FAST_INTERVAL),
            # The heartbeat service's own default interval (and its start-up guard).
            "AGENTPLANE_HEARTBEAT_INTERVAL_SECONDS": str(FAST_INTERVAL),
            "AGENTPLANE_LIVENESS_GRACE_SECONDS": "0.5",
            "AGENTPLANE_LIVENESS_SWEEP_SECONDS": str(SWEEP),
            "AGENTPLANE_ORCHESTRATOR_CERT_TTL_SECONDS": str(CERT_TTL),
            "AGENTPLANE_ORCHESTRATOR_CERT_RENEW_BEFORE_SECONDS": str(RENEW_BEFORE),
            "AGENTPLANE_TLS_PORT": str(tls_port),
        }
    )
    running = FastSystem(system, tls_port)
    wait_listening(running.tls_url)
    yield running
    running.http.close()


def status_of(fast: FastSystem, agent: dict[str, Any]) -> str:
    return str(details(fast.http, fast.workspace, agent)["status"])


def test_offline_after_three_missed_intervals(fast: FastSystem) -> None:
    http, ws = fast.http, fast.workspace
    agent = registered(http, ws)
    assert agent["config"]["heartbeatInterval"] == FAST_INTERVAL
    deadline = 3 * FAST_INTERVAL

    # Beating at the interval keeps it online well past three intervals.
    started = time.monotonic()
    while time.monotonic() - started < deadline + 2:
        beat_ok(http, agent)
        assert status_of(fast, agent) == "online"
        time.sleep(FAST_INTERVAL / 2)

    last_sent = time.monotonic()
    beat_ok(http, agent)
    last_heartbeat = details(http, ws, agent)["lastHeartbeat"]
    # Two intervals missed: still online.
    time.sleep(max(0.0, 2 * FAST_INTERVAL - (time.monotonic() - last_sent) - 0.2))
    assert status_of(fast, agent) == "online"
    while status_of(fast, agent) != "offline":
        assert time.monotonic() - last_sent < deadline + SWEEP + 5, "never went offline"
        time.sleep(0.1)
    noticed = time.monotonic() - last_sent
    # Not before the third interval ended, and within one sweep (plus slack) after it.
    assert deadline - 0.1 <= noticed <= deadline + SWEEP + 3, noticed
    offline = details(http, ws, agent)
    assert offline["lastHeartbeat"] == last_heartbeat
    assert agent["agentId"] in ids(http, ws, status="offline")
    assert agent["agentId"] not in ids(http, ws, status="online")

    # The next heartbeat brings it back.
    beat_ok(http, agent)
    assert status_of(fast, agent) == "online"


def test_a_degraded_agent_goes_offline_too(fast: FastSystem) -> None:
    agent = registered(fast.http, fast.workspace)
    beat_ok(fast.http, agent, status="unhealthy")
    assert status_of(fast, agent) == "degraded"
    time.sleep(3 * FAST_INTERVAL + SWEEP + 0.5)
    assert eventually(lambda: status_of(fast, agent) == "offline", timeout=5)
    assert agent["agentId"] in ids(fast.http, fast.workspace, status="offline")
    assert agent["agentId"] not in ids(fast.http, fast.workspace, status="degraded")


def tls_client(fast: FastSystem, agent: dict[str, Any], cert_pem: str, tmp: Path) -> httpx.Client:
    """An agent's mTLS client: trusts the CA, presents `cert_pem` with its registration key."""
    context = ssl.create_default_context(cadata=agent["certificate"]["ca"])
    cert_file, key_file = tmp / f"{uuid.uuid4().hex}.crt", tmp / f"{uuid.uuid4().hex}.key"
    cert_file.write_text(cert_pem)
    key_file.write_text(agent["certificate"]["key"])
    context.load_cert_chain(cert_file, key_file)
    return httpx.Client(base_url=fast.tls_url, verify=context, timeout=30.0)


def test_certificate_renewal_only_within_the_renewal_window(
    fast: FastSystem, tmp_path: Path
) -> None:
    agent = registered(fast.http, fast.workspace)
    issued = agent["certificate"]
    expires = parse_ts(issued["expiresAt"])
    path = f"/api/v1/agents/{agent['agentId']}/heartbeat"

    with tls_client(fast, agent, issued["cert"], tmp_path) as client:
        # More than the window (290 s) left: no renewal.
        early = client.post(path, json=DOC_HEARTBEAT)
        assert early.status_code == 200, early.text
        assert early.json() == {"tasks": []}
        assert datetime.now(UTC) < expires - timedelta(seconds=RENEW_BEFORE)

        # Wait until the certificate is inside its last 290 s.
        window = expires - timedelta(seconds=RENEW_BEFORE)
        time.sleep(max(0.0, (window - datetime.now(UTC)).total_seconds()) + 1.0)
        # A bearer-token heartbeat over plain HTTP presents no certificate to renew.
        plain = heartbeat(fast.http, agent)
        assert plain.status_code == 200 and "certificateRenewal" not in plain.json()

        due = client.post(path, json=DOC_HEARTBEAT)
        assert due.status_code == 200, due.text
        body = due.json()
        assert set(body) == {"tasks", "certificateRenewal"} and body["tasks"] == []
        renewal = body["certificateRenewal"]
        assert set(renewal) == {"cert", "expiresAt"}

    renewed = x509.load_pem_x509_certificate(renewal["cert"].encode())
    old = x509.load_pem_x509_certificate(issued["cert"].encode())
    ca = x509.load_pem_x509_certificate(issued["ca"].encode())
    renewed.verify_directly_issued_by(ca)
    assert renewed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == agent["agentId"]
    # Same key: the agent keeps its private key.
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    pem = serialization.Encoding.PEM
    assert renewed.public_key().public_bytes(pem, spki) == old.public_key().public_bytes(pem, spki)
    assert renewed.serial_number != old.serial_number
    new_expiry = parse_ts(renewal["expiresAt"])
    assert new_expiry == renewed.not_valid_after_utc
    assert new_expiry > expires
    assert abs((new_expiry - datetime.now(UTC)).total_seconds() - CERT_TTL) < 30

    # The renewed certificate works; it has its whole lifetime left, so no renewal again.
    with tls_client(fast, agent, renewal["cert"], tmp_path) as client:
        again = client.post(path, json=DOC_HEARTBEAT)
        assert again.status_code == 200, again.text
        assert again.json() == {"tasks": []}
        assert client.get(f"/api/v1/agents/{agent['agentId']}").json()["status"] == "online"
