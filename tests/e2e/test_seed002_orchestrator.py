"""Seed 002 (Orchestrator Agent APIs): registration and lifecycle of orchestrator agents.

Requests are made the way the seed document shows them: `X-Agent-Token` on registration with
the documented body, then the agent's bearer JWT; the operator uses the workspace key
(`x-api-key`). Registration tokens come from `POST /v1/enrollment-tokens`. mTLS is tested in
`test_mtls.py`.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

ISO_S = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DOC_BODY = {
    "name": "agent-prod-01",
    "version": "1.0.0",
    "capabilities": ["docker", "compose"],
    "labels": {"datacenter": "us-east-1", "role": "deployment"},
}
SUMMARY_KEYS = {
    "id",
    "name",
    "version",
    "status",
    "capabilities",
    "lastHeartbeat",
    "resourceUsage",
}
DETAIL_KEYS = SUMMARY_KEYS | {"workspaceId", "labels", "createdAt", "targets"}
INVALID_REGISTRATION = "Invalid or expired registration token"


# -- helpers ------------------------------------------------------------------------------


def key_headers(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"], "Content-Type": "application/json"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def parse_ts(value: str) -> datetime:
    assert isinstance(value, str) and ISO_S.match(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def registration_token(http: httpx.Client, ws: dict[str, Any], kind: str = "registration") -> str:
    response = http.post("/v1/enrollment-tokens", json={"kind": kind}, headers=key_headers(ws))
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def register(http: httpx.Client, token: str | None, body: dict[str, Any]) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-Agent-Token"] = token
    return http.post("/api/v1/agents/register", json=body, headers=headers)


def registered(
    http: httpx.Client, ws: dict[str, Any], name: str | None = None, **body: Any
) -> dict[str, Any]:
    payload = {**DOC_BODY, "name": name or f"agent-{uuid.uuid4().hex[:8]}", **body}
    response = register(http, registration_token(http, ws), payload)
    assert response.status_code == 201, response.text
    return response.json()


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


# -- register -----------------------------------------------------------------------------


def test_register_doc_example(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    token = registration_token(http, workspace)
    before = datetime.now(UTC).replace(microsecond=0)
    response = register(http, token, DOC_BODY)
    after = datetime.now(UTC)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"agentId", "token", "config", "certificate"}
    agent_id = body["agentId"]
    assert str(uuid.UUID(agent_id)) == agent_id
    assert body["config"] == {"heartbeatInterval": 30, "taskPollInterval": 5, "logLevel": "info"}

    # The token is a signed JWT for subsequent requests, naming the agent and its workspace.
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert jwt.get_unverified_header(body["token"])["alg"] == "HS256"
    assert claims["sub"] == agent_id and claims["workspace"] == workspace["workspaceId"]
    assert claims["jti"] and claims["exp"] - claims["iat"] == 24 * 3600

    certificate = body["certificate"]
    assert set(certificate) == {"cert", "key", "ca", "expiresAt"}
    assert certificate["cert"].startswith("-----BEGIN CERTIFICATE-----")
    assert certificate["key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert certificate["ca"].startswith("-----BEGIN CERTIFICATE-----")
    # The control plane's own CA, kept in the data dir.
    assert certificate["ca"].strip() == (system.data_dir / "ca.crt").read_text().strip()
    cert = x509.load_pem_x509_certificate(certificate["cert"].encode())
    ca = x509.load_pem_x509_certificate(certificate["ca"].encode())
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == agent_id
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage
    key = serialization.load_pem_private_key(certificate["key"].encode(), password=None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    expires = parse_ts(certificate["expiresAt"])
    assert expires == cert.not_valid_after_utc
    assert before + timedelta(hours=24) <= expires <= after + timedelta(hours=24)

    details = http.get(f"/api/v1/agents/{agent_id}", headers=key_headers(workspace)).json()
    assert details["name"] == "agent-prod-01" and details["version"] == "1.0.0"
    assert details["capabilities"] == ["docker", "compose"]
    assert details["labels"] == {"datacenter": "us-east-1", "role": "deployment"}


def test_register_minimal_body_defaults(http: httpx.Client, workspace: dict[str, Any]) -> None:
    response = register(
        http, registration_token(http, workspace), {"name": "bare", "version": "0.1"}
    )
    assert response.status_code == 201, response.text
    details = http.get(
        f"/api/v1/agents/{response.json()['agentId']}", headers=key_headers(workspace)
    ).json()
    assert details["capabilities"] == [] and details["labels"] == {}


def test_register_token_is_single_use(http: httpx.Client, workspace: dict[str, Any]) -> None:
    token = registration_token(http, workspace)
    assert register(http, token, {**DOC_BODY, "name": "first"}).status_code == 201
    assert_error(register(http, token, {**DOC_BODY, "name": "second"}), 401, INVALID_REGISTRATION)


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "ap_reg_not-a-real-token",
        "ap_reg_" + "A" * 49,
        "ap_reg_" + "A" * 5000,
    ],
)
def test_register_rejects_missing_or_invalid_token(http: httpx.Client, token: str | None) -> None:
    assert_error(register(http, token, DOC_BODY), 401)


def test_register_rejects_other_kinds_of_secrets(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    enrollment = registration_token(http, workspace, kind="enrollment")
    assert_error(register(http, enrollment, DOC_BODY), 401, INVALID_REGISTRATION)
    assert_error(register(http, workspace["apiKey"], DOC_BODY), 401, INVALID_REGISTRATION)


def test_register_name_taken_is_409_per_workspace(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    registered(http, workspace, name="agent-prod-01")
    token = registration_token(http, workspace)
    response = register(http, token, DOC_BODY)
    assert_error(response, 409, "Agent name already registered")
    # The refused registration did not consume the token.
    assert register(http, token, {**DOC_BODY, "name": "agent-prod-02"}).status_code == 201
    other = create_workspace(http, system.admin_token)
    assert register(http, registration_token(http, other), DOC_BODY).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "1.0.0"}, "name"),
        ({"name": "a"}, "version"),
        ({"name": "", "version": "1"}, "name"),
        ({"name": "x" * 101, "version": "1"}, "name"),
        ({"name": "a", "version": "1", "capabilities": "docker"}, "capabilities"),
        ({"name": "a", "version": "1", "capabilities": [""]}, "capabilities.0"),
        ({"name": "a", "version": "1", "labels": {"k": 1}}, "labels.k"),
        ({"name": "a", "version": "1", "labels": ["k"]}, "labels"),
    ],
)
def test_register_validates_body(
    http: httpx.Client, workspace: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    assert_invalid(register(http, registration_token(http, workspace), body), field)


def test_one_of_100_parallel_registrations_with_one_token_wins(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    token = registration_token(http, workspace)

    async def storm() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(
            base_url=system.base_url, timeout=60.0, limits=limits
        ) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/api/v1/agents/register",
                        json={**DOC_BODY, "name": f"storm-{i}"},
                        headers={"X-Agent-Token": token},
                    )
                    for i in range(100)
                )
            )

    responses = asyncio.run(storm())
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1, statuses
    assert statuses.count(401) == 99, statuses
    for response in responses:
        if response.status_code == 401:
            assert response.json()["error"] == INVALID_REGISTRATION
    # Exactly one agent exists: the winner's.
    winner = next(r.json() for r in responses if r.status_code == 201)
    listed = http.get("/api/v1/agents", headers=key_headers(workspace)).json()
    assert [a["id"] for a in listed] == [winner["agentId"]]


def test_one_of_100_parallel_registrations_of_one_name_wins(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    tokens = [registration_token(http, workspace) for _ in range(100)]

    async def storm() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(
            base_url=system.base_url, timeout=60.0, limits=limits
        ) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/api/v1/agents/register",
                        json={**DOC_BODY, "name": "contested"},
                        headers={"X-Agent-Token": t},
                    )
                    for t in tokens
                )
            )

    statuses = [r.status_code for r in asyncio.run(storm())]
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == 99, statuses


# -- list, get, update ----------------------------------------------------------------------


def test_list_agents_documented_fields_and_filters(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    docker = registered(http, workspace, name="docker-1", capabilities=["docker", "compose"])
    ssh = registered(http, workspace, name="ssh-1", capabilities=["ssh"])
    # A seed 000 agent of the same workspace is not an orchestrator agent.
    http.post(
        "/v1/agents/register",
        json={"agentId": str(uuid.uuid4()), "token": "agent_tok_" + uuid.uuid4().hex},
        headers=key_headers(workspace),
    ).raise_for_status()

    response = http.get("/api/v1/agents", headers={"x-api-key": workspace["apiKey"]})
    assert response.status_code == 200, response.text
    agents = response.json()
    assert isinstance(agents, list)
    assert [a["id"] for a in agents] == [docker["agentId"], ssh["agentId"]]
    for agent in agents:
        assert set(agent) == SUMMARY_KEYS
        assert agent["version"] == "1.0.0"
        # No heartbeat yet: offline, never heard from, no usage reported.
        assert agent["status"] == "offline"
        assert agent["lastHeartbeat"] is None
        assert agent["resourceUsage"] is None
    assert agents[0]["capabilities"] == ["docker", "compose"]

    def ids(**params: str) -> list[str]:
        found = http.get("/api/v1/agents", params=params, headers=key_headers(workspace))
        assert found.status_code == 200, found.text
        return [a["id"] for a in found.json()]

    assert ids(capability="docker") == [docker["agentId"]]
    assert ids(capability="ssh") == [ssh["agentId"]]
    assert ids(capability="nomad") == []
    assert ids(status="offline") == [docker["agentId"], ssh["agentId"]]
    assert ids(status="online") == []
    assert ids(status="degraded") == []
    assert ids(status="offline", capability="compose") == [docker["agentId"]]
    bad = http.get("/api/v1/agents", params={"status": "sleeping"}, headers=key_headers(workspace))
    assert_invalid(bad, "status")


def test_list_is_per_workspace(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    registered(http, workspace)
    other = create_workspace(http, system.admin_token)
    assert http.get("/api/v1/agents", headers=key_headers(other)).json() == []


def test_get_agent_full_details(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent = registered(http, workspace, name="detailed")
    response = http.get(f"/api/v1/agents/{agent['agentId']}", headers=key_headers(workspace))
    assert response.status_code == 200, response.text
    details = response.json()
    assert set(details) == DETAIL_KEYS
    assert details["id"] == agent["agentId"]
    assert details["workspaceId"] == workspace["workspaceId"]
    assert details["labels"] == DOC_BODY["labels"]
    assert details["status"] == "offline" and details["targets"] == []
    parse_ts(details["createdAt"])


def test_get_unknown_agent_is_404(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    for agent_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = http.get(f"/api/v1/agents/{agent_id}", headers=key_headers(workspace))
        assert_error(response, 404, "Agent not found")
    # Another workspace's agent does not exist for this workspace.
    agent = registered(http, create_workspace(http, system.admin_token))
    response = http.get(f"/api/v1/agents/{agent['agentId']}", headers=key_headers(workspace))
    assert_error(response, 404, "Agent not found")


def test_update_agent_doc_example(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent = registered(http, workspace)
    response = http.put(
        f"/api/v1/agents/{agent['agentId']}",
        json={"labels": {"datacenter": "us-west-2"}, "capabilities": ["docker", "compose", "ssh"]},
        headers=key_headers(workspace),
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert set(updated) == DETAIL_KEYS
    assert updated["labels"] == {"datacenter": "us-west-2"}
    assert updated["capabilities"] == ["docker", "compose", "ssh"]
    again = http.get(f"/api/v1/agents/{agent['agentId']}", headers=key_headers(workspace)).json()
    assert again == updated
    ssh = http.get("/api/v1/agents", params={"capability": "ssh"}, headers=key_headers(workspace))
    assert [a["id"] for a in ssh.json()] == [agent["agentId"]]

    # One part alone leaves the other as it is.
    only_caps = http.put(
        f"/api/v1/agents/{agent['agentId']}",
        json={"capabilities": ["docker"]},
        headers=key_headers(workspace),
    ).json()
    assert only_caps["capabilities"] == ["docker"]
    assert only_caps["labels"] == {"datacenter": "us-west-2"}


def test_update_agent_errors(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent = registered(http, workspace)
    path = f"/api/v1/agents/{agent['agentId']}"
    assert_error(http.put(path, json={}, headers=key_headers(workspace)), 400)
    assert_invalid(
        http.put(path, json={"capabilities": "ssh"}, headers=key_headers(workspace)),
        "capabilities",
    )
    unknown = http.put(
        f"/api/v1/agents/{uuid.uuid4()}", json={"labels": {}}, headers=key_headers(workspace)
    )
    assert_error(unknown, 404, "Agent not found")
    assert_error(http.put(path, json={"labels": {}}), 401)


# -- agent credentials --------------------------------------------------------------------


def test_agent_token_works_only_on_its_own_endpoints(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    me = registered(http, workspace, name="me")
    peer = registered(http, workspace, name="peer")
    mine = f"/api/v1/agents/{me['agentId']}"
    theirs = f"/api/v1/agents/{peer['agentId']}"

    own = http.get(mine, headers=bearer(me["token"]))
    assert own.status_code == 200, own.text
    assert own.json()["id"] == me["agentId"]
    updated = http.put(mine, json={"labels": {"zone": "a"}}, headers=bearer(me["token"]))
    assert updated.status_code == 200 and updated.json()["labels"] == {"zone": "a"}

    forbidden = "Agent not authorized for this operation"
    assert_error(http.get(theirs, headers=bearer(me["token"])), 403, forbidden)
    assert_error(http.put(theirs, json={"labels": {}}, headers=bearer(me["token"])), 403)
    assert_error(http.delete(theirs, headers=bearer(me["token"])), 403, forbidden)
    assert_error(http.get(f"/api/v1/agents/{uuid.uuid4()}", headers=bearer(me["token"])), 403)
    # The fleet view is the operator's.
    assert_error(http.get("/api/v1/agents", headers=bearer(me["token"])), 403, forbidden)
    # The peer was not touched.
    assert http.get(theirs, headers=key_headers(workspace)).json()["labels"] == DOC_BODY["labels"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Bearer " + "x" * 5000},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"x-api-key": "pc_wrong"},
        # Only the TLS terminator can assert a client certificate.
        {"X-Agentplane-Client-Cert-CN": str(uuid.uuid4()), "X-Agentplane-Client-Cert-Serial": "1"},
    ],
)
def test_missing_or_invalid_credentials_are_401(
    http: httpx.Client, workspace: dict[str, Any], headers: dict[str, str]
) -> None:
    agent = registered(http, workspace)
    if "X-Agentplane-Client-Cert-CN" in headers:
        headers = {**headers, "X-Agentplane-Client-Cert-CN": agent["agentId"]}
    assert_error(http.get(f"/api/v1/agents/{agent['agentId']}", headers=headers), 401)
    assert_error(http.get("/api/v1/agents", headers=headers), 401)


def test_a_tampered_token_is_401(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent = registered(http, workspace)
    claims = jwt.decode(agent["token"], options={"verify_signature": False})
    forged = jwt.encode({**claims, "exp": claims["exp"] + 3600}, "x" * 32, algorithm="HS256")
    assert_error(http.get(f"/api/v1/agents/{agent['agentId']}", headers=bearer(forged)), 401)


# -- delete ---------------------------------------------------------------------------------


def test_delete_agent_revokes_its_credentials(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent = registered(http, workspace, name="doomed")
    path = f"/api/v1/agents/{agent['agentId']}"
    assert http.get(path, headers=bearer(agent["token"])).status_code == 200

    response = http.delete(path, headers=key_headers(workspace))
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": True}

    # The JWT stops working at once; the registration is gone.
    assert_error(http.get(path, headers=bearer(agent["token"])), 401)
    assert_error(http.get(path, headers=key_headers(workspace)), 404, "Agent not found")
    assert_error(http.delete(path, headers=key_headers(workspace)), 404, "Agent not found")
    listed = http.get("/api/v1/agents", headers=key_headers(workspace)).json()
    assert agent["agentId"] not in [a["id"] for a in listed]
    # Its name is free again.
    registered(http, workspace, name="doomed")


def test_an_agent_may_delete_itself(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent = registered(http, workspace)
    path = f"/api/v1/agents/{agent['agentId']}"
    response = http.delete(path, headers=bearer(agent["token"]))
    assert response.status_code == 200 and response.json() == {"deleted": True}
    assert_error(http.delete(path, headers=bearer(agent["token"])), 401)


def test_delete_unknown_agent_is_404(http: httpx.Client, workspace: dict[str, Any]) -> None:
    for agent_id in (str(uuid.uuid4()), "nope"):
        response = http.delete(f"/api/v1/agents/{agent_id}", headers=key_headers(workspace))
        assert_error(response, 404, "Agent not found")


# -- one fleet, audit, secrets --------------------------------------------------------------


def test_orchestrator_agents_join_the_fleet_and_audit_log(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent = registered(http, workspace, name="fleet-member")
    fleet = http.get("/v1/agents", headers=key_headers(workspace)).json()
    assert agent["agentId"] in [a["id"] for a in fleet]
    http.put(
        f"/api/v1/agents/{agent['agentId']}",
        json={"labels": {"zone": "b"}},
        headers=key_headers(workspace),
    ).raise_for_status()
    logs = http.get(
        f"/v1/agents/{agent['agentId']}/audit-logs", headers=key_headers(workspace)
    ).json()["logs"]
    actions = [entry["action"] for entry in logs]
    for action in ("enrolled", "capabilities_replaced", "credential_issued", "attributes_updated"):
        assert action in actions, actions
    issued = [e["metadata"] for e in logs if e["action"] == "credential_issued"]
    assert sorted(m["kind"] for m in issued) == ["certificate", "jwt"]
    text = str(logs)
    assert agent["token"] not in text and agent["token"].split(".")[2] not in text


def test_private_key_and_jwt_are_never_stored_or_logged(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    agent = registered(http, workspace)
    key_lines = agent["certificate"]["key"].strip().splitlines()[1:-1]
    secrets = [line.encode() for line in key_lines if len(line) >= 40]
    secrets.append(agent["token"].split(".")[2].encode())  # the JWT's signature
    assert secrets
    for path in system.data_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for secret in secrets:
                assert secret not in content, f"secret found in {path}"
    log = system.log().encode()
    for secret in secrets:
        assert secret not in log
