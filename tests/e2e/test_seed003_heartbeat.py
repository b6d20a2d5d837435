"""Seed 003 (Agent Device Endpoints): `POST /api/agent/heartbeat` as a real heartbeat.

Called the way the seed shows it: the headers `X-Agent-Key`, `X-Agent-ID`,
`X-Request-Timestamp` and the documented body. A heartbeat makes the device online in the
fleet (`GET /v1/agents`: `isOnline`, `lastSeenAt`), keeps its documented fields (never the key)
on the telemetry channel, and a `reconnect_reason` with `process_start_time` becomes a
`reconnected` entry of the agent's audit log. Every rejection answers
`{"success": false, "error": …}`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from agentplane.contracts.liveness import TelemetryList, TelemetryQuery
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import Heartbeat
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

DOC_ENROLL = {
    "hostname": "WORKSTATION-01",
    "os": "windows",
    "arch": "amd64",
    "agent_version": "0.5.11",
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
REASONS = ["service_restart", "network_recovery", "machine_reboot", "update_restart"]
ISO_MS = "%Y-%m-%dT%H:%M:%S.%fZ"


# -- helpers ------------------------------------------------------------------------------


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_s(offset: float = 0.0) -> str:
    return rfc3339(datetime.now(UTC) + timedelta(seconds=offset))


def key_headers(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"], "Content-Type": "application/json"}


def enrolled(http: httpx.Client, ws: dict[str, Any]) -> dict[str, Any]:
    token = http.post(
        "/v1/enrollment-tokens", json={"kind": "enrollment"}, headers=key_headers(ws)
    ).json()["token"]
    response = http.post(
        "/api/agent/enroll",
        json={"token": token, **DOC_ENROLL},
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def device_headers(agent: dict[str, Any], **override: str) -> dict[str, str]:
    headers = {
        "X-Agent-Key": agent["api_key"],
        "X-Agent-ID": agent["agent_id"],
        "X-Request-Timestamp": now_s(),
        "Content-Type": "application/json",
    }
    headers.update(override)
    return headers


def doc_body(**changes: Any) -> dict[str, Any]:
    """The documented body; the doc's "task-uuid-or-null" placeholder becomes a task id."""
    body = json.loads(json.dumps(DOC_HEARTBEAT))
    body["last_task_completed"] = str(uuid.uuid4())
    body.update(changes)
    return body


def plain_body(**changes: Any) -> dict[str, Any]:
    """A heartbeat without a gap before it (no reconnect fields), sent now."""
    body = doc_body(timestamp=now_s(), last_task_completed=None)
    del body["reconnect_reason"], body["process_start_time"]
    body.update(changes)
    return body


def heartbeat(
    http: httpx.Client, agent: dict[str, Any], body: Any, **headers: str
) -> httpx.Response:
    return http.post("/api/agent/heartbeat", json=body, headers=device_headers(agent, **headers))


def assert_ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["success"] is True and payload["data"]["acknowledged"] is True, payload
    return dict(payload["data"])


def assert_device_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "error"} and body["success"] is False, body
    assert isinstance(body["error"], str) and body["error"]
    return str(body["error"])


def fleet_entry(http: httpx.Client, ws: dict[str, Any], agent_id: str) -> dict[str, Any]:
    listed = http.get("/v1/agents", headers=key_headers(ws))
    assert listed.status_code == 200, listed.text
    return dict(next(a for a in listed.json() if a["id"] == agent_id))


def audit(http: httpx.Client, ws: dict[str, Any], agent_id: str) -> list[dict[str, Any]]:
    """The agent's audit log, oldest first."""
    response = http.get(f"/v1/agents/{agent_id}/audit-logs", headers=key_headers(ws))
    assert response.status_code == 200, response.text
    return sorted(response.json()["logs"], key=lambda e: (e["timestamp"], e["id"]))


def reconnects(http: httpx.Client, ws: dict[str, Any], agent_id: str) -> list[dict[str, Any]]:
    return [e for e in audit(http, ws, agent_id) if e["action"] == "reconnected"]


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def wait_reconnects(
    http: httpx.Client, ws: dict[str, Any], agent_id: str, count: int
) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]]:
        found = reconnects(http, ws, agent_id)
        return found if len(found) >= count else []

    return eventually(enough) or reconnects(http, ws, agent_id)


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def newest_telemetry(system: RunningSystem, agent_id: str) -> dict[str, Any] | None:
    """What an SRE subscribed to the bus sees: the agent's newest heartbeat telemetry."""

    async def ask() -> dict[str, Any] | None:
        nc = await system.nats_connect()
        try:
            query = TelemetryQuery(agent_id=uuid.UUID(agent_id), kind="heartbeat", limit=1)
            msg = await nc.request(
                Heartbeat.TELEMETRY_RECENT, query.model_dump_json().encode(), timeout=10
            )
        finally:
            await nc.close()
        reply = Reply.model_validate_json(msg.data)
        assert reply.ok, reply
        entries = TelemetryList.model_validate(reply.data).entries
        return entries[0].data if entries else None

    return asyncio.run(ask())


@pytest.fixture
def agent(http: httpx.Client, workspace: dict[str, Any]) -> dict[str, Any]:
    return enrolled(http, workspace)


# -- the documented heartbeat ----------------------------------------------------------------


def test_doc_heartbeat_makes_the_device_online(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any]
) -> None:
    before_entry = fleet_entry(http, workspace, agent["agent_id"])
    assert before_entry["isOnline"] is False and before_entry["lastSeenAt"] is None

    before = datetime.now(UTC)
    response = http.post(
        "/api/agent/heartbeat",
        json=doc_body(),
        headers={
            "X-Agent-Key": agent["api_key"],
            "X-Agent-ID": agent["agent_id"],
            "X-Request-Timestamp": now_s(),
            "Content-Type": "application/json",
        },
    )
    after = datetime.now(UTC)
    data = assert_ok(response)
    assert set(data) == {"acknowledged", "server_time"}
    server_time = datetime.strptime(data["server_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before.replace(microsecond=0) <= server_time <= after

    entry = fleet_entry(http, workspace, agent["agent_id"])
    assert entry["isOnline"] is True
    seen = datetime.strptime(entry["lastSeenAt"], ISO_MS).replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= seen <= after + timedelta(seconds=1)
    online = http.get("/v1/agents/online", headers=key_headers(workspace)).json()
    assert agent["agent_id"] in [a["id"] for a in online]
    details = http.get(f"/v1/agents/{agent['agent_id']}", headers=key_headers(workspace)).json()
    assert details["isOnline"] is True


def test_heartbeats_keep_moving_last_seen(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any]
) -> None:
    assert_ok(heartbeat(http, agent, plain_body()))
    first = fleet_entry(http, workspace, agent["agent_id"])["lastSeenAt"]
    time.sleep(0.05)
    assert_ok(
        heartbeat(http, agent, plain_body(status="executing", current_task=str(uuid.uuid4())))
    )
    second = fleet_entry(http, workspace, agent["agent_id"])
    assert second["isOnline"] is True and second["lastSeenAt"] > first


def test_telemetry_holds_the_documented_fields_never_the_key(
    http: httpx.Client, agent: dict[str, Any], system: RunningSystem
) -> None:
    body = doc_body(extra_field="ignored")
    assert_ok(heartbeat(http, agent, body))
    data = eventually(lambda: newest_telemetry(system, agent["agent_id"]))
    assert data is not None
    documented = {k: v for k, v in body.items() if k != "extra_field"}
    assert data == documented
    text = json.dumps(data)
    assert agent["api_key"] not in text and "extra_field" not in text


# -- reconnects ----------------------------------------------------------------------------


def test_reconnect_is_recorded_in_the_audit_log(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any]
) -> None:
    body = doc_body()
    assert_ok(heartbeat(http, agent, body))
    [entry] = wait_reconnects(http, workspace, agent["agent_id"], 1)
    metadata = entry["metadata"]
    assert metadata["reason"] == "service_restart"
    assert parse_iso(metadata["processStartTime"]) == parse_iso("2026-03-21T14:29:55Z")
    assert parse_iso(metadata["reportedAt"]) == parse_iso("2026-03-21T14:30:00Z")
    assert agent["api_key"] not in json.dumps(audit(http, workspace, agent["agent_id"]))

    # The same heartbeat sent again (its answer was lost) is not a second reconnect; plain
    # heartbeats record nothing.
    assert_ok(heartbeat(http, agent, body))
    for _ in range(3):
        assert_ok(heartbeat(http, agent, plain_body()))
    # A later gap is.
    started = now_s(-5)
    later = plain_body(reconnect_reason="network_recovery", process_start_time=started)
    assert_ok(heartbeat(http, agent, later))
    found = wait_reconnects(http, workspace, agent["agent_id"], 2)
    assert [e["metadata"]["reason"] for e in found] == ["service_restart", "network_recovery"]
    assert parse_iso(found[1]["metadata"]["processStartTime"]) == parse_iso(started)
    time.sleep(0.5)
    assert len(reconnects(http, workspace, agent["agent_id"])) == 2


def test_every_reconnect_reason_is_recorded(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any]
) -> None:
    for i, reason in enumerate(REASONS):
        body = plain_body(
            timestamp=now_s(i - len(REASONS)),
            reconnect_reason=reason,
            process_start_time=now_s(-60),
        )
        assert_ok(heartbeat(http, agent, body))
    found = wait_reconnects(http, workspace, agent["agent_id"], len(REASONS))
    assert sorted(e["metadata"]["reason"] for e in found) == sorted(REASONS)


def test_reconnect_reason_without_process_start_time(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any]
) -> None:
    assert_ok(heartbeat(http, agent, plain_body(reconnect_reason="machine_reboot")))
    [entry] = wait_reconnects(http, workspace, agent["agent_id"], 1)
    assert entry["metadata"]["reason"] == "machine_reboot"
    assert "processStartTime" not in entry["metadata"]


# -- rejections: body ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "busy"),
        ("status", "IDLE"),
        ("status", None),
        ("status", 1),
        ("reconnect_reason", "crash"),
        ("reconnect_reason", ""),
        ("reconnect_reason", 1),
        ("timestamp", "not-a-time"),
        ("timestamp", "2026-03-21T14:30:00"),  # no offset
        ("timestamp", "2026-03-21T16:30:00+02:00"),  # not UTC
        ("timestamp", "2026-03-21"),
        ("timestamp", "2026-13-01T00:00:00Z"),
        ("timestamp", 1774103400),
        ("timestamp", None),
        ("process_start_time", "yesterday"),
        ("process_start_time", "2026-03-21T14:29:55"),
        ("process_start_time", "2026-03-21T14:30:01Z"),  # after the heartbeat's timestamp
        ("process_start_time", 1774103395),
        ("current_task", "task-uuid"),
        ("current_task", 5),
        ("last_task_completed", "task-uuid-or-null"),
        ("agent_version", "dev"),
        ("agent_version", 5),
        ("system", "WORKSTATION-01"),
        ("system", None),
    ],
)
def test_invalid_field_is_400(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any], field: str, value: Any
) -> None:
    error = assert_device_error(heartbeat(http, agent, doc_body(**{field: value})), 400)
    assert field in error, error
    # A refused heartbeat neither makes the device online nor records a reconnect.
    assert fleet_entry(http, workspace, agent["agent_id"])["isOnline"] is False
    assert reconnects(http, workspace, agent["agent_id"]) == []


def test_timestamp_ahead_of_server_time_is_400(http: httpx.Client, agent: dict[str, Any]) -> None:
    error = assert_device_error(heartbeat(http, agent, plain_body(timestamp=now_s(3600))), 400)
    assert "timestamp" in error
    # Within the clock skew it is fine.
    assert_ok(heartbeat(http, agent, plain_body(timestamp=now_s(60))))


def test_process_start_time_only_with_reconnect_reason(
    http: httpx.Client, agent: dict[str, Any]
) -> None:
    body = plain_body(process_start_time=now_s(-60))
    error = assert_device_error(heartbeat(http, agent, body), 400)
    assert "process_start_time" in error and "reconnect_reason" in error


@pytest.mark.parametrize(
    ("metric", "value"),
    [
        ("cpu_percent", "15"),
        ("cpu_percent", 101),
        ("cpu_percent", -1),
        ("memory_mb", True),
        ("memory_mb", -5),
        ("disk_free_mb", "50000"),
        ("uptime_seconds", -1),
        ("process_cpu_percent", "2"),
        ("process_memory_mb", [25]),
        ("hostname", 5),
        ("os", {"name": "windows"}),
    ],
)
def test_invalid_system_metric_is_400(
    http: httpx.Client, agent: dict[str, Any], metric: str, value: Any
) -> None:
    body = doc_body()
    body["system"][metric] = value
    error = assert_device_error(heartbeat(http, agent, body), 400)
    assert f"system.{metric}" in error, error


@pytest.mark.parametrize("field", ["timestamp", "status", "system", "agent_version"])
def test_missing_required_field_is_400(
    http: httpx.Client, agent: dict[str, Any], field: str
) -> None:
    body = doc_body()
    del body[field]
    assert field in assert_device_error(heartbeat(http, agent, body), 400)


@pytest.mark.parametrize("body", [[], "idle", 5, None])
def test_body_that_is_not_an_object_is_400(
    http: httpx.Client, agent: dict[str, Any], body: Any
) -> None:
    response = http.post(
        "/api/agent/heartbeat", content=json.dumps(body).encode(), headers=device_headers(agent)
    )
    assert_device_error(response, 400)


# -- rejections: headers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "override",
    [
        {"X-Agent-Key": ""},
        {"X-Agent-ID": ""},
        {"X-Request-Timestamp": ""},
        {"X-Agent-Key": "ap_dev_wrong"},
        {"X-Agent-Key": "x" * 600},
        {"X-Agent-ID": "not-a-uuid"},
        {"X-Agent-ID": str(uuid.uuid4())},
        {"X-Request-Timestamp": "yesterday"},
        {"X-Request-Timestamp": "2026-03-21T14:30:00"},
        {"X-Request-Timestamp": "STALE"},
        {"X-Request-Timestamp": "AHEAD"},
    ],
)
def test_bad_headers_are_401(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any], override: dict[str, str]
) -> None:
    value = override.get("X-Request-Timestamp")
    if value == "STALE":
        override = {"X-Request-Timestamp": now_s(-301)}
    elif value == "AHEAD":
        override = {"X-Request-Timestamp": now_s(301)}
    headers = device_headers(agent, **override)
    for name, header_value in override.items():
        if not header_value:
            del headers[name]
    response = http.post("/api/agent/heartbeat", json=doc_body(), headers=headers)
    assert_device_error(response, 401)
    # Headers are checked before the body.
    response = http.post("/api/agent/heartbeat", json={"status": "busy"}, headers=headers)
    assert_device_error(response, 401)
    assert fleet_entry(http, workspace, agent["agent_id"])["isOnline"] is False
    assert reconnects(http, workspace, agent["agent_id"]) == []


def test_another_devices_key_is_401(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any]
) -> None:
    other = enrolled(http, workspace)
    response = heartbeat(http, agent, doc_body(), **{"X-Agent-Key": other["api_key"]})
    assert_device_error(response, 401)
    assert fleet_entry(http, workspace, agent["agent_id"])["isOnline"] is False


# -- key rotation still rides on the heartbeat ---------------------------------------------


def test_new_api_key_is_delivered_and_works(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any]
) -> None:
    rotated = http.post(
        f"/v1/agents/{agent['agent_id']}/api-key/rotate", headers=key_headers(workspace)
    )
    assert rotated.status_code in (200, 201, 202), rotated.text

    # The heartbeat that delivers the key also reports a reconnect: both take effect.
    data = assert_ok(heartbeat(http, agent, doc_body()))
    new_key = data["new_api_key"]
    assert isinstance(new_key, str) and new_key != agent["api_key"]
    assert len(wait_reconnects(http, workspace, agent["agent_id"], 1)) == 1
    assert new_key not in json.dumps(audit(http, workspace, agent["agent_id"]))

    renewed = {**agent, "api_key": new_key}
    data = assert_ok(heartbeat(http, renewed, plain_body()))
    assert "new_api_key" not in data
    assert fleet_entry(http, workspace, agent["agent_id"])["isOnline"] is True
    # The first use of the new key retired the old one.
    assert_device_error(heartbeat(http, agent, plain_body()), 401)


def test_devices_of_other_workspaces_stay_apart(
    http: httpx.Client, workspace: dict[str, Any], agent: dict[str, Any], system: RunningSystem
) -> None:
    assert_ok(heartbeat(http, agent, plain_body()))
    other = create_workspace(http, system.admin_token)
    listed = http.get("/v1/agents", headers=key_headers(other)).json()
    assert agent["agent_id"] not in [a["id"] for a in listed]
    response = http.get(f"/v1/agents/{agent['agent_id']}/audit-logs", headers=key_headers(other))
    assert response.status_code == 404
