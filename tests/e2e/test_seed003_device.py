"""Seed 003 (Agent Device Endpoints): enroll, key authentication, server-initiated key rotation,
signed releases and the update check.

Requests are made the way the seed document shows them: the documented JSON bodies and the
three headers `X-Agent-Key`, `X-Agent-ID`, `X-Request-Timestamp` (RFC 3339 UTC). Operator
calls (enrollment tokens, rotation, releases) use the workspace key in `x-api-key`.
"""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

DOC_ENROLL = {
    "hostname": "WORKSTATION-01",
    "os": "windows",
    "arch": "amd64",
    "agent_version": "1.0.0",
}
DOC_HEARTBEAT: dict[str, Any] = {
    "timestamp": "2026-03-21T14:30:00Z",
    "status": "idle",
    "current_task": None,
    "system": {
        "hostname": "WORKSTATION-01",
        "os": "windows",
        "arch": "amd64",
        "uptime_seconds": 86400,
        "cpu_percent": 15,
        "memory_mb": 4096,
        "disk_free_mb": 50000,
        "process_cpu_percent": 2,
        "process_memory_mb": 25,
    },
    "agent_version": "0.5.11",
    "last_task_completed": "task-uuid-or-null",
    "reconnect_reason": "service_restart",
    "process_start_time": "2026-03-21T14:29:55Z",
}
RECONNECT_REASONS = ["service_restart", "network_recovery", "machine_reboot", "update_restart"]
HEADERS = ("X-Agent-Key", "X-Agent-ID", "X-Request-Timestamp")
SHA256 = "3f" * 32


# -- helpers ------------------------------------------------------------------------------


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_headers(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"], "Content-Type": "application/json"}


def device_headers(agent: dict[str, Any], skew: float = 0.0, **override: str) -> dict[str, str]:
    headers = {
        "X-Agent-Key": agent["api_key"],
        "X-Agent-ID": agent["agent_id"],
        "X-Request-Timestamp": rfc3339(datetime.now(UTC) + timedelta(seconds=skew)),
        "Content-Type": "application/json",
    }
    headers.update(override)
    return headers


def enrollment_token(http: httpx.Client, ws: dict[str, Any], **extra: Any) -> str:
    response = http.post(
        "/v1/enrollment-tokens", json={"kind": "enrollment", **extra}, headers=key_headers(ws)
    )
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "enrollment"
    return str(response.json()["token"])


def enroll_raw(http: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return http.post("/api/agent/enroll", json=body, headers={"Content-Type": "application/json"})


def enrolled(
    http: httpx.Client, ws: dict[str, Any], agent_version: str = "1.0.0"
) -> dict[str, Any]:
    body = {"token": enrollment_token(http, ws), **DOC_ENROLL, "agent_version": agent_version}
    response = enroll_raw(http, body)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def heartbeat_body(**changes: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(DOC_HEARTBEAT))
    # The doc's placeholders are not UUIDs; a real agent sends null or a task id.
    body["last_task_completed"] = None
    body["timestamp"] = rfc3339(datetime.now(UTC))
    body.update(changes)
    return body


def heartbeat(
    http: httpx.Client, agent: dict[str, Any], body: dict[str, Any] | None = None, **hdr: Any
) -> httpx.Response:
    return http.post(
        "/api/agent/heartbeat",
        json=body if body is not None else heartbeat_body(agent_version="1.0.0"),
        headers=device_headers(agent, **hdr),
    )


def update(http: httpx.Client, agent: dict[str, Any], **hdr: Any) -> httpx.Response:
    headers = device_headers(agent, **hdr)
    headers.pop("Content-Type")
    return http.get("/api/agent/update", headers=headers)


def rotate(http: httpx.Client, ws: dict[str, Any], agent_id: str) -> httpx.Response:
    return http.post(f"/v1/agents/{agent_id}/api-key/rotate", headers=key_headers(ws))


def publish(http: httpx.Client, ws: dict[str, Any], version: str, **changes: Any) -> httpx.Response:
    body = {
        "version": version,
        "url": f"https://downloads.example.com/agent/{version}/agent.exe",
        "sha256": SHA256,
        **changes,
    }
    return http.post("/v1/agent-releases", json=body, headers=key_headers(ws))


def assert_device_error(response: httpx.Response, status: int) -> str:
    """The device dialect's error shape: exactly `{"success": false, "error": "…"}`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "error"}, body
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    return str(body["error"])


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return dict(body)


def verify_signature(public_key_b64: str, payload: str, signature_b64: str) -> None:
    """What the agent does: raises `InvalidSignature` unless the control plane signed it."""
    raw = base64.b64decode(public_key_b64, validate=True)
    assert len(raw) == 32
    Ed25519PublicKey.from_public_bytes(raw).verify(
        base64.b64decode(signature_b64, validate=True), payload.encode()
    )


def audit_actions(http: httpx.Client, ws: dict[str, Any], agent_id: str) -> list[dict[str, Any]]:
    response = http.get(f"/v1/agents/{agent_id}/audit-logs", headers={"x-api-key": ws["apiKey"]})
    assert response.status_code == 200, response.text
    return list(response.json()["logs"])


def wait_for_actions(
    http: httpx.Client, ws: dict[str, Any], agent_id: str, *actions: str
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        logs = audit_actions(http, ws, agent_id)
        if set(actions) <= {log["action"] for log in logs} or time.monotonic() > deadline:
            return logs
        time.sleep(0.1)


@pytest.fixture(scope="module")
def http_module(system: RunningSystem) -> Any:
    with httpx.Client(base_url=system.base_url, timeout=30.0) as client:
        yield client


# -- enroll -------------------------------------------------------------------------------


def test_enroll_doc_example(
    http: httpx.Client, workspace: dict[str, Any], expiring_token: tuple[str, float]
) -> None:
    token = enrollment_token(http, workspace)
    response = enroll_raw(http, {"token": token, **DOC_ENROLL})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"success", "data"} and body["success"] is True
    data = body["data"]
    assert set(data) == {"agent_id", "api_key", "public_key"}
    assert str(uuid.UUID(data["agent_id"])) == data["agent_id"]
    assert isinstance(data["api_key"], str) and len(data["api_key"]) >= 43
    assert len(base64.b64decode(data["public_key"], validate=True)) == 32
    Ed25519PublicKey.from_public_bytes(base64.b64decode(data["public_key"]))

    # One fleet: the device agent is listed by the canonical API, without its key.
    listed = http.get("/v1/agents", headers={"x-api-key": workspace["apiKey"]})
    assert listed.status_code == 200
    agents = {a["id"]: a for a in listed.json()}
    assert agents[data["agent_id"]]["name"] == "WORKSTATION-01"
    assert data["api_key"] not in listed.text
    logs = wait_for_actions(http, workspace, data["agent_id"], "enrolled")
    assert "enrolled" in [log["action"] for log in logs]
    assert data["api_key"] not in json.dumps(logs)

    # The new key authenticates right away.
    assert heartbeat(http, data).status_code == 200


def test_every_enrollment_returns_the_same_control_plane_key(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    first, second = enrolled(http, workspace), enrolled(http, workspace)
    assert first["public_key"] == second["public_key"]
    assert first["agent_id"] != second["agent_id"] and first["api_key"] != second["api_key"]


def test_enroll_with_used_token_is_401(http: httpx.Client, workspace: dict[str, Any]) -> None:
    token = enrollment_token(http, workspace)
    assert enroll_raw(http, {"token": token, **DOC_ENROLL}).status_code == 200
    assert_device_error(enroll_raw(http, {"token": token, **DOC_ENROLL}), 401)


def test_enroll_with_invalid_or_wrong_kind_token_is_401(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    assert_device_error(enroll_raw(http, {"token": "enrollment-token-string", **DOC_ENROLL}), 401)
    registration = http.post(
        "/v1/enrollment-tokens", json={"kind": "registration"}, headers=key_headers(workspace)
    ).json()["token"]
    assert_device_error(enroll_raw(http, {"token": registration, **DOC_ENROLL}), 401)
    good = enrollment_token(http, workspace)
    mistyped = good[:-1] + ("x" if good[-1] != "x" else "y")
    assert_device_error(enroll_raw(http, {"token": mistyped, **DOC_ENROLL}), 401)


def test_parallel_enrollments_with_one_token_admit_exactly_one(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    import concurrent.futures

    token = enrollment_token(http, workspace)

    def attempt(_: int) -> int:
        with httpx.Client(base_url=system.base_url, timeout=30.0) as client:
            return enroll_raw(client, {"token": token, **DOC_ENROLL}).status_code

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(attempt, range(20)))
    assert sorted(codes) == [200] + [401] * 19, codes


@pytest.mark.parametrize("field", ["token", "hostname", "os", "arch", "agent_version"])
def test_enroll_requires_every_documented_field(
    http: httpx.Client, workspace: dict[str, Any], field: str
) -> None:
    body = {"token": enrollment_token(http, workspace), **DOC_ENROLL}
    del body[field]
    assert field in assert_device_error(enroll_raw(http, body), 400)


def test_enroll_rejects_a_version_that_is_not_semantic(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    body = {"token": enrollment_token(http, workspace), **DOC_ENROLL, "agent_version": "latest"}
    assert "agent_version" in assert_device_error(enroll_raw(http, body), 400)
    # The token was not spent by the rejected request.
    assert enroll_raw(http, {**body, "agent_version": "1.0.0"}).status_code == 200


# -- device authentication (every device endpoint) ---------------------------------------


@pytest.fixture
def agent(http: httpx.Client, workspace: dict[str, Any]) -> dict[str, Any]:
    return enrolled(http, workspace)


CALLS = {"heartbeat": heartbeat, "update": update}


@pytest.mark.parametrize("endpoint", sorted(CALLS))
@pytest.mark.parametrize("header", HEADERS)
def test_missing_header_is_401(
    http: httpx.Client, agent: dict[str, Any], endpoint: str, header: str
) -> None:
    call = CALLS[endpoint]
    headers = device_headers(agent)
    del headers[header]
    if endpoint == "heartbeat":
        response = http.post(
            "/api/agent/heartbeat", json=heartbeat_body(agent_version="1.0.0"), headers=headers
        )
    else:
        response = http.get("/api/agent/update", headers=headers)
    assert header in assert_device_error(response, 401)
    assert call(http, agent).status_code == 200  # complete headers are accepted


# The seed's limit: a timestamp more than this many seconds from server time is refused.
MAX_SKEW = 300


def skewed_timestamp(skew: float, beyond: bool) -> tuple[str, float]:
    """The header `skew` seconds from now, rounded to its whole seconds away from the limit.

    `beyond`: at least |skew| away (for refusals); else at most |skew| (for acceptance).
    Returns the header and the skew it states at this moment.
    """
    now = time.time()
    outward = (skew > 0) == beyond
    stamp = math.ceil(now + skew) if outward else math.floor(now + skew)
    return rfc3339(datetime.fromtimestamp(stamp, UTC)), stamp - now


def call_with_skew(
    http: httpx.Client, agent: dict[str, Any], endpoint: str, skew: float, beyond: bool
) -> httpx.Response:
    """The answer to a request whose timestamp is `skew` away from server time when the
    server reads it, whatever the request time.

    The server compares the header with its clock somewhere within the request's round trip,
    so a clock moving by up to that much changes what it sees: skews moving toward the limit
    (positive ones for refusals, negative ones for acceptance) are conclusive only when the
    round trip was shorter than their distance to it. An inconclusive answer is asked again,
    a refusal with a skew widened by twice the round trip measured.
    """
    for _ in range(5):
        header, stated = skewed_timestamp(skew, beyond)
        started = time.monotonic()
        response = CALLS[endpoint](http, agent, **{"X-Request-Timestamp": header})
        took = time.monotonic() - started
        moves_toward_limit = (stated > 0) == beyond
        distance = abs(abs(stated) - MAX_SKEW)
        if not moves_toward_limit or took < distance:
            return response
        if beyond:
            skew = math.copysign(MAX_SKEW + 2 * took + 1, skew)
    pytest.fail(f"five requests in a row took longer than the {skew} s margin allows")


@pytest.mark.parametrize("endpoint", sorted(CALLS))
@pytest.mark.parametrize("skew", [301, -301, 3600, -86400])
def test_timestamp_more_than_300s_away_is_401(
    http: httpx.Client, agent: dict[str, Any], endpoint: str, skew: int
) -> None:
    response = call_with_skew(http, agent, endpoint, skew, beyond=True)
    assert_device_error(response, 401)


@pytest.mark.parametrize("endpoint", sorted(CALLS))
@pytest.mark.parametrize("skew", [290, -290, 0])
def test_timestamp_within_300s_is_accepted(
    http: httpx.Client, agent: dict[str, Any], endpoint: str, skew: int
) -> None:
    response = call_with_skew(http, agent, endpoint, skew, beyond=False)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "timestamp",
    ["yesterday", "2026-03-21 14:30:00", "2026-03-21T14:30:00", "1774103400", ""],
)
def test_timestamp_that_is_not_rfc3339_utc_is_401(
    http: httpx.Client, agent: dict[str, Any], timestamp: str
) -> None:
    response = heartbeat(http, agent, **{"X-Request-Timestamp": timestamp})
    assert_device_error(response, 401)


def test_rfc3339_with_fraction_and_offset_is_accepted(
    http: httpx.Client, agent: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    for value in (
        now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        now.astimezone(UTC).isoformat(),
        (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00"),
    ):
        assert heartbeat(http, agent, **{"X-Request-Timestamp": value}).status_code == 200, value


@pytest.mark.parametrize("endpoint", sorted(CALLS))
def test_wrong_key_is_401(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any], endpoint: str
) -> None:
    other = enrolled(http, workspace)
    call = CALLS[endpoint]
    assert_device_error(call(http, agent, **{"X-Agent-Key": other["api_key"]}), 401)
    key = agent["api_key"]
    mistyped = key[:-1] + ("0" if key[-1] != "0" else "1")
    assert_device_error(call(http, agent, **{"X-Agent-Key": mistyped}), 401)
    assert_device_error(call(http, agent, **{"X-Agent-Key": "generated-key"}), 401)
    assert_device_error(call(http, agent, **{"X-Agent-ID": other["agent_id"]}), 401)
    assert_device_error(call(http, agent, **{"X-Agent-ID": str(uuid.uuid4())}), 401)
    assert_device_error(call(http, agent, **{"X-Agent-ID": "uuid"}), 401)


def test_seed000_token_does_not_open_device_endpoints(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = str(uuid.uuid4()), "agent_tok_" + uuid.uuid4().hex
    response = http.post(
        "/v1/agents/register",
        json={"agentId": agent_id, "token": token},
        headers=key_headers(workspace),
    )
    assert response.status_code == 201
    assert_device_error(heartbeat(http, {"agent_id": agent_id, "api_key": token}), 401)


# -- heartbeat ----------------------------------------------------------------------------


def test_heartbeat_doc_example(http: httpx.Client, agent: dict[str, Any]) -> None:
    body = json.loads(json.dumps(DOC_HEARTBEAT))
    body["last_task_completed"] = None  # the doc's "task-uuid-or-null" placeholder
    before = datetime.now(UTC).replace(microsecond=0)
    response = heartbeat(http, agent, body)
    after = datetime.now(UTC)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["success"] is True
    assert set(payload["data"]) == {"acknowledged", "server_time"}  # no rotation requested
    assert payload["data"]["acknowledged"] is True
    server_time = datetime.strptime(payload["data"]["server_time"], "%Y-%m-%dT%H:%M:%SZ")
    assert before <= server_time.replace(tzinfo=UTC) <= after


@pytest.mark.parametrize("reason", RECONNECT_REASONS)
def test_heartbeat_accepts_each_reconnect_reason(
    http: httpx.Client, agent: dict[str, Any], reason: str
) -> None:
    body = heartbeat_body(reconnect_reason=reason, process_start_time=rfc3339(datetime.now(UTC)))
    assert heartbeat(http, agent, body).status_code == 200


def test_heartbeat_minimal_and_executing(http: httpx.Client, agent: dict[str, Any]) -> None:
    body = heartbeat_body(status="executing", current_task=str(uuid.uuid4()))
    for optional in ("reconnect_reason", "process_start_time", "last_task_completed"):
        body.pop(optional)
    assert heartbeat(http, agent, body).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "busy"),
        ("status", None),
        ("reconnect_reason", "crash"),
        ("timestamp", "not-a-time"),
        ("timestamp", "2026-03-21T14:30:00"),
        ("timestamp", 1774103400),
        ("process_start_time", "yesterday"),
        ("current_task", "task-uuid"),
        ("last_task_completed", "task-uuid-or-null"),
        ("agent_version", "dev"),
        ("system", "WORKSTATION-01"),
    ],
)
def test_heartbeat_rejects_invalid_fields(
    http: httpx.Client, agent: dict[str, Any], field: str, value: Any
) -> None:
    body = heartbeat_body(**{field: value})
    assert field in assert_device_error(heartbeat(http, agent, body), 400)


@pytest.mark.parametrize("field", ["timestamp", "status", "system", "agent_version"])
def test_heartbeat_requires_documented_fields(
    http: httpx.Client, agent: dict[str, Any], field: str
) -> None:
    body = heartbeat_body()
    del body[field]
    assert field in assert_device_error(heartbeat(http, agent, body), 400)


def test_heartbeat_checks_the_key_before_the_body(
    http: httpx.Client, agent: dict[str, Any]
) -> None:
    response = heartbeat(http, agent, {"status": "busy"}, **{"X-Agent-Key": "wrong"})
    assert_device_error(response, 401)


# -- server-initiated key rotation --------------------------------------------------------


def test_rotation_new_key_in_next_heartbeat_old_key_dies_on_first_use(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any]
) -> None:
    response = rotate(http, workspace, agent["agent_id"])
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["success"] is True
    assert accepted["agentId"] == agent["agent_id"] and accepted["status"] == "pending"
    assert agent["api_key"] not in response.text

    first = heartbeat(http, agent)
    assert first.status_code == 200, first.text
    new_key = first.json()["data"]["new_api_key"]
    assert isinstance(new_key, str) and new_key != agent["api_key"]
    assert first.json()["data"]["acknowledged"] is True

    # The old key keeps working until the new one is used ...
    assert update(http, agent).status_code == 200
    rotated = {**agent, "api_key": new_key}
    second = heartbeat(http, rotated)
    assert second.status_code == 200
    assert "new_api_key" not in second.json()["data"]  # delivered once, now in use
    # ... and is rejected from then on, on every device endpoint.
    assert_device_error(heartbeat(http, agent), 401)
    assert_device_error(update(http, agent), 401)
    assert update(http, rotated).status_code == 200

    logs = wait_for_actions(
        http, workspace, agent["agent_id"], "api_key_rotation_requested", "token_rotated"
    )
    rotated_entries = [log for log in logs if log["action"] == "token_rotated"]
    assert rotated_entries, logs
    assert agent["api_key"].startswith(rotated_entries[0]["metadata"]["oldTokenPrefix"])
    text = json.dumps(logs)
    assert agent["api_key"] not in text and new_key not in text


def test_rotation_request_while_pending_is_accepted_again(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any]
) -> None:
    first = rotate(http, workspace, agent["agent_id"])
    second = rotate(http, workspace, agent["agent_id"])
    assert first.status_code == second.status_code == 202
    assert first.json()["requestedAt"] == second.json()["requestedAt"]
    heartbeat(http, agent)
    third = rotate(http, workspace, agent["agent_id"])
    assert third.status_code == 202 and third.json()["status"] == "delivered"


def test_rotation_errors(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    agent = enrolled(http, workspace)
    assert_error(
        http.post(f"/v1/agents/{agent['agent_id']}/api-key/rotate"), 401
    )  # no workspace key
    assert_error(rotate(http, workspace, str(uuid.uuid4())), 404)
    assert_error(rotate(http, workspace, "not-a-uuid"), 404)
    other = create_workspace(http, system.admin_token)
    assert_error(rotate(http, other, agent["agent_id"]), 404)
    agent_id = str(uuid.uuid4())
    http.post(
        "/v1/agents/register",
        json={"agentId": agent_id, "token": "agent_tok_" + uuid.uuid4().hex},
        headers=key_headers(workspace),
    )
    assert_error(rotate(http, workspace, agent_id), 409)  # a seed 000 agent has no API key


@pytest.fixture(scope="module")
def short_grace_system(system_factory: Any) -> RunningSystem:
    """A second system whose old keys live 2 s after delivery instead of 60 s."""
    return system_factory(env={"AGENTPLANE_DEVICE_KEY_GRACE_SECONDS": "2"})


def test_rotation_old_key_dies_after_the_grace_without_new_key_use(
    short_grace_system: RunningSystem,
) -> None:
    with httpx.Client(base_url=short_grace_system.base_url, timeout=30.0) as client:
        ws = create_workspace(client, short_grace_system.admin_token)
        agent = enrolled(client, ws)
        assert rotate(client, ws, agent["agent_id"]).status_code == 202
        time.sleep(2.5)  # no grace runs before delivery: the old key still works
        delivered = heartbeat(client, agent)
        assert delivered.status_code == 200
        new_key = delivered.json()["data"]["new_api_key"]
        assert heartbeat(client, agent).status_code == 200  # inside the grace
        time.sleep(2.5)
        assert_device_error(heartbeat(client, agent), 401)
        assert_device_error(update(client, agent), 401)
        rotated = {**agent, "api_key": new_key}
        response = heartbeat(client, rotated)
        assert response.status_code == 200 and "new_api_key" not in response.json()["data"]
        assert_device_error(heartbeat(client, agent), 401)


# -- signed releases and the update check -------------------------------------------------


def test_publish_release_and_update_verifies_with_enrollment_key(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent = enrolled(http, workspace, agent_version="1.0.0")
    response = publish(http, workspace, "1.2.0")
    assert response.status_code == 201, response.text
    published = response.json()
    assert {"version", "url", "sha256", "signature", "signedPayload"} <= set(published)
    assert published["version"] == "1.2.0" and published["sha256"] == SHA256

    offer = update(http, agent)
    assert offer.status_code == 200, offer.text
    body = offer.json()
    assert body["success"] is True
    data = body["data"]
    assert set(data) == {"version", "download_url", "sha256", "signature", "signed_payload"}
    assert data["version"] == "1.2.0"
    assert data["download_url"] == "https://downloads.example.com/agent/1.2.0/agent.exe"
    assert data["sha256"] == SHA256
    assert len(base64.b64decode(data["signature"], validate=True)) == 64
    # The signed payload is the canonical JSON of exactly those three fields.
    expected = {"version": "1.2.0", "url": data["download_url"], "sha256": SHA256}
    assert data["signed_payload"] == json.dumps(expected, sort_keys=True, separators=(",", ":"))
    verify_signature(agent["public_key"], data["signed_payload"], data["signature"])
    # A tampered payload does not verify.
    from cryptography.exceptions import InvalidSignature

    tampered = data["signed_payload"].replace("1.2.0", "9.9.9")
    with pytest.raises(InvalidSignature):
        verify_signature(agent["public_key"], tampered, data["signature"])


def test_update_never_offers_a_lower_version(http: httpx.Client, workspace: dict[str, Any]) -> None:
    assert update(http, enrolled(http, workspace)).json() == {"success": True, "data": None}
    for version in ("1.1.0", "1.4.0", "1.3.0"):
        assert publish(http, workspace, version).status_code == 201
    old = enrolled(http, workspace, agent_version="1.0.0")
    current = enrolled(http, workspace, agent_version="1.4.0")
    newer = enrolled(http, workspace, agent_version="2.0.0")
    assert update(http, old).json()["data"]["version"] == "1.4.0"
    assert update(http, current).json()["data"]["version"] == "1.4.0"  # not older: offered
    assert update(http, newer).json() == {"success": True, "data": None}  # rollback refused

    # The agent's reported version (heartbeat) is what the check compares with.
    assert heartbeat(http, old, heartbeat_body(agent_version="1.5.0")).status_code == 200
    assert update(http, old).json()["data"] is None
    assert publish(http, workspace, "1.5.1").status_code == 201
    assert update(http, old).json()["data"]["version"] == "1.5.1"


def test_releases_belong_to_their_workspace(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    other = create_workspace(http, system.admin_token)
    assert publish(http, other, "9.0.0").status_code == 201
    agent = enrolled(http, workspace)
    assert update(http, agent).json()["data"] is None


def test_a_release_of_another_workspace_fails_the_devices_check(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    """Each workspace signs with its own key: workspace A's signed release, replayed to a device
    of workspace B (a mirror, a proxy, a compromised download host), is refused by B."""
    from agentplane.agent.update import Verdict, judge
    from agentplane.contracts.http.device import AgentUpdate

    other = create_workspace(http, system.admin_token)
    mine, theirs = enrolled(http, workspace), enrolled(http, other, agent_version="1.0.0")
    assert mine["public_key"] != theirs["public_key"]
    assert publish(http, other, "3.0.0").status_code == 201
    offered = update(http, theirs).json()["data"]
    release = AgentUpdate.model_validate(offered)
    assert judge(release, "1.0.0", theirs["public_key"]).verdict is Verdict.AVAILABLE
    assert judge(release, "1.0.0", mine["public_key"]).verdict is Verdict.BAD_SIGNATURE


def test_publish_release_errors(http: httpx.Client, workspace: dict[str, Any]) -> None:
    assert publish(http, workspace, "2.0.0").status_code == 201
    assert_error(publish(http, workspace, "2.0.0"), 409)
    for version in ("2", "v2.1.0", "latest", ""):
        assert_error(publish(http, workspace, version), 400)
    for sha in ("abc", "z" * 64, SHA256 + "00"):
        assert_error(publish(http, workspace, "2.1.0", sha256=sha), 400)
    for url in ("ftp://example.com/agent.exe", "agent.exe", ""):
        assert_error(publish(http, workspace, "2.1.0", url=url), 400)
    for missing in ("version", "url", "sha256"):
        body = {"version": "2.1.0", "url": "https://example.com/a", "sha256": SHA256}
        del body[missing]
        assert_error(
            http.post("/v1/agent-releases", json=body, headers=key_headers(workspace)), 400
        )
    response = http.post(
        "/v1/agent-releases",
        json={"version": "2.1.0", "url": "https://example.com/a", "sha256": SHA256},
    )
    assert_error(response, 401)


# -- expiry (last: waits out the 60 s minimum lifetime of the module's token) ---------------


def test_enroll_with_expired_token_is_401(
    http: httpx.Client, expiring_token: tuple[str, float]
) -> None:
    token, issued_at = expiring_token
    time.sleep(max(0.0, issued_at + 61 - time.monotonic()))
    assert_device_error(enroll_raw(http, {"token": token, **DOC_ENROLL}), 401)
