"""`Idempotency-Key` on creating requests: a retry returns the first answer, secrets included,
and creates nothing more."""

from __future__ import annotations

import uuid

import httpx

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem


def _create(http: httpx.Client, system: RunningSystem, name: str, key: str | None, **body: str):
    headers = {"Authorization": f"Bearer {system.admin_token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post("/v1/admin/workspaces", json={"name": name, **body}, headers=headers)


def test_a_retried_workspace_create_returns_the_same_key(
    http: httpx.Client, system: RunningSystem
) -> None:
    name, key = f"idem-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    first = _create(http, system, name, key)
    assert first.status_code == 201, first.text
    again = _create(http, system, name, key)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    # The key works, and it is the only workspace of that name.
    assert http.get("/v1/agents", headers={"x-api-key": first.json()["apiKey"]}).status_code == 200
    assert _create(http, system, name, None).status_code == 409


def test_the_same_key_for_another_request_is_409(http: httpx.Client, system: RunningSystem) -> None:
    key = str(uuid.uuid4())
    assert _create(http, system, f"idem-{uuid.uuid4().hex[:8]}", key).status_code == 201
    other = _create(http, system, f"idem-{uuid.uuid4().hex[:8]}", key)
    assert other.status_code == 409, other.text
    assert other.json()["kind"] == "conflict"


def test_keys_are_per_principal_and_bounded(http: httpx.Client, system: RunningSystem) -> None:
    too_long = _create(http, system, f"idem-{uuid.uuid4().hex[:8]}", "k" * 256)
    assert too_long.status_code == 400, too_long.text
    # A body cannot smuggle an idempotency scope in: the field is the gateway's alone.
    name = f"idem-{uuid.uuid4().hex[:8]}"
    smuggled = http.post(
        "/v1/admin/workspaces",
        json={"name": name, "idempotency": {"scope": "x", "key": "k", "fingerprint": "0" * 64}},
        headers={"Authorization": f"Bearer {system.admin_token}"},
    )
    assert smuggled.status_code == 201, smuggled.text
    assert _create(http, system, name, None).status_code == 409


def _retried(http: httpx.Client, path: str, ws: dict[str, str], body: dict[str, object]):
    headers = {"x-api-key": ws["apiKey"], "Idempotency-Key": str(uuid.uuid4())}
    first = http.post(path, json=body, headers=headers)
    again = http.post(path, json=body, headers=headers)
    return first, again


def test_provision_and_enrollment_tokens_are_idempotent(
    http: httpx.Client, workspace: dict[str, str], system: RunningSystem
) -> None:
    first, again = _retried(
        http, "/v1/agents/provision", workspace, {"clientType": "cursor", "name": "idem"}
    )
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    listed = http.get("/v1/agents", headers={"x-api-key": workspace["apiKey"]}).json()
    assert [a["id"] for a in listed].count(first.json()["agentId"]) == 1
    assert sum(1 for a in listed if a["name"] == "idem") == 1
    # The replayed token is the agent's live token.
    beat = http.post(
        "/v1/agents/heartbeat",
        json={"agentId": first.json()["agentId"], "token": again.json()["token"]},
    )
    assert beat.status_code == 200, beat.text

    first, again = _retried(http, "/v1/enrollment-tokens", workspace, {"kind": "enrollment"})
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()

    # Keys are per principal: another workspace using the same key gets its own token.
    other = create_workspace(http, system.admin_token)
    key = str(uuid.uuid4())
    mine = http.post(
        "/v1/enrollment-tokens",
        json={"kind": "enrollment"},
        headers={"x-api-key": workspace["apiKey"], "Idempotency-Key": key},
    )
    theirs = http.post(
        "/v1/enrollment-tokens",
        json={"kind": "enrollment"},
        headers={"x-api-key": other["apiKey"], "Idempotency-Key": key},
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["token"] != theirs.json()["token"]


def test_a_retried_enrollment_gets_the_same_identity(
    http: httpx.Client, workspace: dict[str, str]
) -> None:
    token = http.post(
        "/v1/enrollment-tokens",
        json={"kind": "enrollment"},
        headers={"x-api-key": workspace["apiKey"]},
    ).json()["token"]
    body = {
        "token": token,
        "hostname": "IDEM-01",
        "os": "linux",
        "arch": "x86_64",
        "agent_version": "1.0.0",
    }
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = http.post("/api/agent/enroll", json=body, headers=key)
    again = http.post("/api/agent/enroll", json=body, headers=key)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json() == first.json()
    # Without the key (or with another) the used token is refused as before.
    assert http.post("/api/agent/enroll", json=body).status_code == 401
    other_key = {"Idempotency-Key": str(uuid.uuid4())}
    assert http.post("/api/agent/enroll", json=body, headers=other_key).status_code == 401
    listed = http.get("/v1/agents", headers={"x-api-key": workspace["apiKey"]}).json()
    assert sum(1 for a in listed if a["name"] == "IDEM-01") == 1


def test_a_retried_orchestrator_registration_gets_the_same_agent_and_key(
    http: httpx.Client, workspace: dict[str, str]
) -> None:
    token = http.post(
        "/v1/enrollment-tokens",
        json={"kind": "registration"},
        headers={"x-api-key": workspace["apiKey"]},
    ).json()["token"]
    body = {"name": f"idem-{uuid.uuid4().hex[:8]}", "version": "1.0.0"}
    headers = {"X-Agent-Token": token, "Idempotency-Key": str(uuid.uuid4())}
    first = http.post("/api/v1/agents/register", json=body, headers=headers)
    again = http.post("/api/v1/agents/register", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    # The whole answer, the private key of the certificate included (the gateway made a new
    # key pair for the retry, but answers with the first one).
    assert again.json() == first.json()
    assert first.json()["certificate"]["key"].startswith("-----BEGIN")
    agent = first.json()
    assert (
        http.get(
            f"/api/v1/agents/{agent['agentId']}",
            headers={"Authorization": f"Bearer {again.json()['token']}"},
        ).status_code
        == 200
    )
    listed = http.get("/api/v1/agents", headers={"x-api-key": workspace["apiKey"]}).json()
    assert [a["id"] for a in listed] == [agent["agentId"]]
    # The same key with another body is 409; without a key the used token is refused.
    other = http.post("/api/v1/agents/register", json={**body, "version": "2.0.0"}, headers=headers)
    assert other.status_code == 409, other.text
    bare = http.post("/api/v1/agents/register", json=body, headers={"X-Agent-Token": token})
    assert bare.status_code == 401, bare.text


def test_a_retried_pap_create_gets_the_same_agent(
    http: httpx.Client, workspace: dict[str, str]
) -> None:
    bearer = {"Authorization": f"Bearer {workspace['apiKey']}"}
    body = {"name": f"idem-{uuid.uuid4().hex[:8]}", "description": "retried"}
    headers = {**bearer, "Idempotency-Key": str(uuid.uuid4())}
    first = http.post("/api/agents", json=body, headers=headers)
    again = http.post("/api/agents", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json()["agent"] == first.json()["agent"]
    assert (
        again.json()["deployment"]["deploymentName"] == first.json()["deployment"]["deploymentName"]
    )
    # The agent as the document shows it afterwards is the one created.
    shown = http.get(f"/api/agents/{first.json()['agent']['uuid']}", headers=bearer)
    assert shown.status_code == 200, shown.text
    assert shown.json()["agent"]["created_at"] == first.json()["agent"]["created_at"]
    # Without the key a second create of the name is 409 as before; the key with another
    # body is 409 too.
    assert http.post("/api/agents", json=body, headers=bearer).status_code == 409
    changed = http.post("/api/agents", json={**body, "description": "other"}, headers=headers)
    assert changed.status_code == 409, changed.text
    assert changed.json()["kind"] == "conflict"
