"""Seed 004 export (`POST /api/agents/{uuid}/export`), called the way the document's curl does.

Telemetry comes from the capped telemetry stream (real heartbeats and metrics posted over
HTTP), the agent and its lifecycle history from the registry and the lifecycle service.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from agentplane.contracts.http.pap import EXPORT_TELEMETRY_LIMIT_MAX, ExportBody
from agentplane.contracts.streams import TELEMETRY_PER_AGENT
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

ISO_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
EXPORT_KEYS = {"agent", "heartbeats", "metrics", "lifecycle_events", "metadata"}
METADATA_KEYS = {"exported_at", "triggered_by", "total_heartbeats", "total_metrics"}


@pytest.fixture
def ws(http: httpx.Client, system: RunningSystem) -> dict[str, Any]:
    """An enterprise workspace: its rate limit never interferes with these tests."""
    return create_workspace(http, system.admin_token, "enterprise")


def auth(ws: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {ws['apiKey']}"}


def json_auth(ws: dict[str, Any]) -> dict[str, str]:
    return {**auth(ws), "Content-Type": "application/json"}


def create(http: httpx.Client, ws: dict[str, Any], name: str) -> dict[str, Any]:
    response = http.post("/api/agents", json={"name": name}, headers=json_auth(ws))
    assert response.status_code == 201, response.text
    agent: dict[str, Any] = response.json()["agent"]
    return agent


def export(http: httpx.Client, ws: dict[str, Any], agent_uuid: str, body: Any) -> httpx.Response:
    return http.post(f"/api/agents/{agent_uuid}/export", json=body, headers=json_auth(ws))


def beat(http: httpx.Client, ws: dict[str, Any], agent_uuid: str, uptime: int) -> None:
    response = http.post(
        f"/api/agents/{agent_uuid}/heartbeat",
        json={"mode": "IDLE", "uptime_seconds": uptime},
        headers=json_auth(ws),
    )
    assert response.status_code == 200, response.text


def report(http: httpx.Client, ws: dict[str, Any], agent_uuid: str, handled: int) -> None:
    response = http.post(
        f"/api/agents/{agent_uuid}/metrics",
        json={"cpu_percent": 12.5, "memory_mb": 128, "requests_handled": handled},
        headers=json_auth(ws),
    )
    assert response.status_code == 200, response.text


def wait_for(probe: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def parse_ts(value: Any) -> datetime:
    assert isinstance(value, str) and ISO_SECONDS.match(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_limit_bound_is_what_the_stream_keeps() -> None:
    assert EXPORT_TELEMETRY_LIMIT_MAX == TELEMETRY_PER_AGENT
    assert ExportBody().include_telemetry is True
    assert ExportBody().telemetry_limit == 100


def test_export_doc_example(http: httpx.Client, ws: dict[str, Any]) -> None:
    agent = create(http, ws, "my-agent")
    for uptime in (10, 20, 30):
        beat(http, ws, agent["uuid"], uptime)
    for handled in (1, 2):
        report(http, ws, agent["uuid"], handled)

    # Heartbeats reach the telemetry stream without an acknowledgement: wait until the three
    # are readable, and until the first beat's ACTIVATED transition is in the history.
    def ready() -> dict[str, Any] | None:
        body: dict[str, Any] = export(
            http, ws, agent["uuid"], {"include_telemetry": True, "telemetry_limit": 1000}
        ).json()
        activated = any(e["event_type"] == "ACTIVATED" for e in body["lifecycle_events"])
        done = len(body.get("heartbeats", [])) == 3 and activated
        return body if done else None

    before = datetime.now(UTC)
    body = wait_for(ready)
    assert body, "heartbeats or the ACTIVATED transition never showed up in the export"
    assert set(body) == EXPORT_KEYS
    details = http.get(f"/api/agents/{agent['uuid']}", headers=auth(ws)).json()
    exported = body["agent"]
    assert exported["uuid"] == agent["uuid"]
    assert exported["name"] == "my-agent"
    assert exported["dns_name"] == agent["dns_name"]
    assert exported["state"] == "ACTIVE"
    assert exported == details["agent"]

    assert [h["uptime_seconds"] for h in body["heartbeats"]] == [30, 20, 10]  # newest first
    for h in body["heartbeats"]:
        assert set(h) == {"id", "agent_uuid", "mode", "uptime_seconds", "timestamp"}
        assert h["agent_uuid"] == agent["uuid"] and h["mode"] == "IDLE"
        parse_ts(h["timestamp"])
    assert [m["requests_handled"] for m in body["metrics"]] == [2, 1]
    assert body["metrics"][0] == {
        "id": body["metrics"][0]["id"],
        "agent_uuid": agent["uuid"],
        "cpu_percent": 12.5,
        "memory_mb": 128,
        "requests_handled": 2,
        "custom_metrics": {},
        "timestamp": body["metrics"][0]["timestamp"],
    }
    steps = [(e["event_type"], e["from_state"], e["to_state"]) for e in body["lifecycle_events"]]
    assert steps[-1] == ("CREATED", None, "NEW")  # newest first: creation is last
    assert steps[0][2] == "ACTIVE" and ("ACTIVATED", "ACTIVE") in {(s[0], s[2]) for s in steps}
    assert body["lifecycle_events"] == details["lifecycleEvents"]

    metadata = body["metadata"]
    assert set(metadata) == METADATA_KEYS
    exported_at = parse_ts(metadata["exported_at"])
    assert before - timedelta(seconds=1) <= exported_at <= datetime.now(UTC)
    assert metadata["triggered_by"] == ws["workspaceId"]
    assert metadata["total_heartbeats"] == 3
    assert metadata["total_metrics"] == 2


def test_telemetry_limit_takes_the_newest_and_totals_count_all(
    http: httpx.Client, ws: dict[str, Any]
) -> None:
    agent = create(http, ws, "limited")
    for handled in range(5):
        report(http, ws, agent["uuid"], handled)
    beat(http, ws, agent["uuid"], 1)
    body = wait_for(
        lambda: (
            b
            if (b := export(http, ws, agent["uuid"], {"telemetry_limit": 2}).json())
            and b.get("heartbeats")
            else None
        )
    )
    assert [m["requests_handled"] for m in body["metrics"]] == [4, 3]
    assert body["metadata"]["total_metrics"] == 5
    assert body["metadata"]["total_heartbeats"] == 1


def test_defaults_without_a_body(http: httpx.Client, ws: dict[str, Any]) -> None:
    agent = create(http, ws, "defaults")
    for handled in range(3):
        report(http, ws, agent["uuid"], handled)
    response = http.post(f"/api/agents/{agent['uuid']}/export", headers=auth(ws))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == EXPORT_KEYS
    assert len(body["metrics"]) == 3  # default limit 100 holds all of them
    for empty_body in ({}, None):
        response = export(http, ws, agent["uuid"], empty_body)
        assert response.status_code == 200, response.text
        assert len(response.json()["metrics"]) == 3


def test_without_telemetry_there_are_no_telemetry_arrays(
    http: httpx.Client, ws: dict[str, Any]
) -> None:
    agent = create(http, ws, "no-telemetry")
    report(http, ws, agent["uuid"], 7)
    response = export(http, ws, agent["uuid"], {"include_telemetry": False})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"agent", "lifecycle_events", "metadata"}
    assert body["metadata"]["total_metrics"] == 1
    assert body["metadata"]["total_heartbeats"] == 0
    assert [e["event_type"] for e in body["lifecycle_events"]] == ["CREATED"]


@pytest.mark.parametrize(
    "body",
    [
        {"telemetry_limit": 0},
        {"telemetry_limit": -1},
        {"telemetry_limit": 1001},
        {"telemetry_limit": 10**9},
        {"telemetry_limit": "100"},
        {"telemetry_limit": 2.5},
        {"include_telemetry": "yes"},
        {"include_telemetry": 1},
        [1, 2],
    ],
)
def test_invalid_bodies_are_400(http: httpx.Client, ws: dict[str, Any], body: Any) -> None:
    agent = create(http, ws, f"bad-{uuid.uuid4().hex[:8]}")
    response = export(http, ws, agent["uuid"], body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["kind"] == "validation"
    if isinstance(body, dict):
        assert next(iter(body)) in error["error"]


def test_limit_bounds_are_accepted(http: httpx.Client, ws: dict[str, Any]) -> None:
    agent = create(http, ws, "bounds")
    for limit in (1, 1000):
        response = export(http, ws, agent["uuid"], {"telemetry_limit": limit})
        assert response.status_code == 200, response.text


def test_not_found_and_unauthorized(
    http: httpx.Client, ws: dict[str, Any], system: RunningSystem
) -> None:
    other = create_workspace(http, system.admin_token, "enterprise")
    theirs = create(http, other, "theirs")
    for agent_uuid in (str(uuid.uuid4()), theirs["uuid"], "not-a-uuid"):
        response = export(http, ws, agent_uuid, {})
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "Agent not found"
    for headers in ({}, {"Authorization": "Bearer pc_wrong"}):
        response = http.post(f"/api/agents/{theirs['uuid']}/export", json={}, headers=headers)
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "Unauthorized"


def test_terminated_agent_is_exported_with_its_history(
    http: httpx.Client, ws: dict[str, Any]
) -> None:
    agent = create(http, ws, "gone")
    assert http.delete(f"/api/agents/{agent['uuid']}", headers=auth(ws)).status_code == 200
    body = export(http, ws, agent["uuid"], {}).json()
    assert body["agent"]["state"] == "TERMINATED"
    assert body["lifecycle_events"][0]["to_state"] == "TERMINATED"
