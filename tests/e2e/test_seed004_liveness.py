"""Seed 004 (PAP Agents API): heartbeats, metrics and the liveness state machine, over HTTP.

Requests are made the way the document's curl examples make them. Endpoint tests run on the
session system. Tests that wait for a missed interval run on a dedicated system whose
heartbeat service may decide "offline" three seconds after it starts (the session system's
default restart guard holds every offline decision back for 95 s: a 30 s x 3 default interval
plus 5 s grace); everything else there is the default, the sweep period included (1 s).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

HEARTBEAT_RECORDED = {"message": "Heartbeat recorded"}
METRICS_RECORDED = {"message": "Metrics recorded"}
BEAT_METADATA = {"triggered_by": "heartbeat", "reason": "heartbeat received"}
DOC_HEARTBEAT = {"mode": "IDLE", "uptime_seconds": 330}
DOC_METRICS = {
    "cpu_percent": 12.5,
    "memory_mb": 128,
    "requests_handled": 45,
    "custom_metrics": {"queue_depth": 3, "cache_hit_rate": 0.85},
}
HEARTBEAT_KEYS = {"id", "agent_uuid", "mode", "uptime_seconds", "timestamp"}
METRICS_KEYS = {
    "id",
    "agent_uuid",
    "cpu_percent",
    "memory_mb",
    "requests_handled",
    "custom_metrics",
    "timestamp",
}
EMERGENCY_INTERVAL = 5.0
# A beat may be this late before the agent counts as unhealthy (contracts/pap.py).
TOLERANCE = 1.0
SWEEP = 1.0  # AGENTPLANE_LIVENESS_SWEEP_SECONDS default


# -- helpers --------------------------------------------------------------------------------


def auth(ws: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {ws['apiKey']}"}


def json_auth(ws: dict[str, Any]) -> dict[str, str]:
    return {**auth(ws), "Content-Type": "application/json"}


def enterprise(http: httpx.Client, admin_token: str) -> dict[str, Any]:
    """1000 requests/minute, burst 100: the tier's limit never interferes."""
    return create_workspace(http, admin_token, "enterprise")


def create_agent(http: httpx.Client, ws: dict[str, Any], name: str = "my-agent") -> str:
    response = http.post("/api/agents", json={"name": name}, headers=json_auth(ws))
    assert response.status_code == 201, response.text
    agent_uuid: str = response.json()["agent"]["uuid"]
    return agent_uuid


def beat(
    http: httpx.Client, ws: dict[str, Any], agent_uuid: str, body: Any = None
) -> httpx.Response:
    return http.post(
        f"/api/agents/{agent_uuid}/heartbeat",
        json=DOC_HEARTBEAT if body is None else body,
        headers=json_auth(ws),
    )


def report(
    http: httpx.Client, ws: dict[str, Any], agent_uuid: str, body: Any = None
) -> httpx.Response:
    return http.post(
        f"/api/agents/{agent_uuid}/metrics",
        json=DOC_METRICS if body is None else body,
        headers=json_auth(ws),
    )


def details(http: httpx.Client, ws: dict[str, Any], agent_uuid: str) -> dict[str, Any]:
    response = http.get(f"/api/agents/{agent_uuid}", headers=auth(ws))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def listed(http: httpx.Client, ws: dict[str, Any], agent_uuid: str) -> dict[str, Any]:
    response = http.get("/api/agents", headers=auth(ws))
    assert response.status_code == 200, response.text
    agent: dict[str, Any] = next(a for a in response.json() if a["uuid"] == agent_uuid)
    return agent


def wait_for(
    fetch: Callable[[], dict[str, Any]],
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 10.0,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"gave up waiting; last: {value}"
        time.sleep(0.1)


def state_is(state: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: bool(body["agent"]["state"] == state)


def ts(value: Any) -> datetime:
    assert isinstance(value, str), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def transitions(body: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(e["event_type"], e["from_state"], e["to_state"]) for e in body["lifecycleEvents"]]


def assert_error(response: httpx.Response, status: int, message: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == message, body
    return body


def assert_invalid(response: httpx.Response, field: str, *words: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["kind"] == "validation"
    assert field in body["error"], body
    for word in words:
        assert word in body["error"], body
    assert body["details"]["field"] == field, body


# -- session system: the endpoints ----------------------------------------------------------


@pytest.fixture
def ws(http: httpx.Client, system: RunningSystem) -> dict[str, Any]:
    return enterprise(http, system.admin_token)


def test_heartbeat_doc_example_activates_the_agent(http: httpx.Client, ws: dict[str, Any]) -> None:
    agent_uuid = create_agent(http, ws)
    before = datetime.now(UTC).replace(microsecond=0)
    response = http.post(
        f"/api/agents/{agent_uuid}/heartbeat",
        headers={"Authorization": f"Bearer {ws['apiKey']}", "Content-Type": "application/json"},
        content=b'{\n    "mode": "IDLE",\n    "uptime_seconds": 330\n  }',
    )
    after = datetime.now(UTC)
    assert response.status_code == 200, response.text
    assert response.json() == HEARTBEAT_RECORDED

    body = wait_for(lambda: details(http, ws, agent_uuid), state_is("ACTIVE"))
    agent = body["agent"]
    assert before <= ts(agent["last_heartbeat_at"]) <= after
    assert agent["activated_at"] == agent["last_heartbeat_at"]
    assert agent["terminated_at"] is None
    activated, created = body["lifecycleEvents"]
    assert created["event_type"] == "CREATED"
    assert (activated["event_type"], activated["from_state"], activated["to_state"]) == (
        "ACTIVATED",
        "NEW",
        "ACTIVE",
    )
    assert activated["metadata"] == BEAT_METADATA
    assert activated["timestamp"] == agent["activated_at"]
    assert activated["agent_uuid"] == agent_uuid and activated["id"] != created["id"]
    (heartbeat,) = wait_for(lambda: details(http, ws, agent_uuid), lambda b: b["recentHeartbeats"])[
        "recentHeartbeats"
    ]
    assert set(heartbeat) == HEARTBEAT_KEYS
    assert int(heartbeat["id"]) > 0
    assert heartbeat["agent_uuid"] == agent_uuid
    assert (heartbeat["mode"], heartbeat["uptime_seconds"]) == ("IDLE", 330)
    assert before <= ts(heartbeat["timestamp"]) <= after + timedelta(seconds=1)
    # The list shows the same liveness.
    assert listed(http, ws, agent_uuid) == agent


@pytest.mark.parametrize("mode", ["EMERGENCY", "IDLE", "SLEEP"])
def test_every_mode_is_accepted(http: httpx.Client, ws: dict[str, Any], mode: str) -> None:
    agent_uuid = create_agent(http, ws, f"agent-{mode.lower()}")
    response = beat(http, ws, agent_uuid, {"mode": mode, "uptime_seconds": 0.25})
    assert response.status_code == 200 and response.json() == HEARTBEAT_RECORDED
    body = wait_for(lambda: details(http, ws, agent_uuid), lambda b: b["recentHeartbeats"])
    assert body["recentHeartbeats"][0]["mode"] == mode
    assert body["recentHeartbeats"][0]["uptime_seconds"] == 0.25


@pytest.mark.parametrize(
    ("extra", "fields"),
    [
        ({"cpu_percent": 12.5}, "cpu_percent"),
        ({"memory_mb": 128}, "memory_mb"),
        ({"cpu_percent": 1, "memory_mb": 2, "requests_handled": 3}, "cpu_percent, memory_mb"),
        ({"custom_metrics": {}}, "custom_metrics"),
        ({"status": "healthy"}, "status"),
        ({"agent_uuid": "x"}, "agent_uuid"),
    ],
)
def test_heartbeat_with_any_other_field_is_refused(
    http: httpx.Client, ws: dict[str, Any], extra: dict[str, Any], fields: str
) -> None:
    """Zombie prevention: a heartbeat carries liveness only, never resource data."""
    agent_uuid = create_agent(http, ws)
    response = beat(http, ws, agent_uuid, {**DOC_HEARTBEAT, **extra})
    assert_invalid(response, sorted(extra)[0], f"not allowed: {fields}", "mode and uptime_seconds")
    assert response.json()["details"]["fields"] == sorted(extra)
    # Refused beats change nothing.
    body = details(http, ws, agent_uuid)
    assert body["agent"]["state"] == "NEW" and body["agent"]["last_heartbeat_at"] is None
    assert body["recentHeartbeats"] == []


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"uptime_seconds": 330}, "mode", ["required"]),
        ({"mode": None, "uptime_seconds": 330}, "mode", ["required"]),
        ({"mode": "idle", "uptime_seconds": 330}, "mode", ["EMERGENCY, IDLE, SLEEP"]),
        ({"mode": "BUSY", "uptime_seconds": 330}, "mode", ["EMERGENCY, IDLE, SLEEP"]),
        ({"mode": 30, "uptime_seconds": 330}, "mode", ["EMERGENCY, IDLE, SLEEP"]),
        ({"mode": "IDLE"}, "uptime_seconds", ["required"]),
        ({"mode": "IDLE", "uptime_seconds": None}, "uptime_seconds", ["required"]),
        ({"mode": "IDLE", "uptime_seconds": -1}, "uptime_seconds", [">= 0"]),
        ({"mode": "IDLE", "uptime_seconds": "330"}, "uptime_seconds", ["number"]),
        ({"mode": "IDLE", "uptime_seconds": True}, "uptime_seconds", ["number"]),
        ({}, "mode", ["required"]),
    ],
)
def test_heartbeat_missing_or_invalid_field(
    http: httpx.Client, ws: dict[str, Any], body: dict[str, Any], field: str, words: list[str]
) -> None:
    agent_uuid = create_agent(http, ws)
    assert_invalid(beat(http, ws, agent_uuid, body), field, *words)
    assert details(http, ws, agent_uuid)["agent"]["last_heartbeat_at"] is None


@pytest.mark.parametrize("content", [b"", b"not json", b"[1]", b'"IDLE"', b"null"])
def test_heartbeat_body_must_be_a_json_object(
    http: httpx.Client, ws: dict[str, Any], content: bytes
) -> None:
    agent_uuid = create_agent(http, ws)
    response = http.post(
        f"/api/agents/{agent_uuid}/heartbeat", content=content, headers=json_auth(ws)
    )
    assert_invalid(response, "body")


def test_heartbeat_and_metrics_of_unknown_agents_are_not_found(
    http: httpx.Client, ws: dict[str, Any], system: RunningSystem
) -> None:
    other = enterprise(http, system.admin_token)
    theirs = create_agent(http, other, "theirs")
    v1 = http.post(
        "/v1/agents/provision",
        json={"clientType": "custom"},
        headers={"x-api-key": ws["apiKey"], "Content-Type": "application/json"},
    ).json()["agentId"]
    for agent_uuid in [str(uuid.uuid4()), theirs, v1, "not-a-uuid"]:
        assert_error(beat(http, ws, agent_uuid), 404, "Agent not found")
        assert_error(report(http, ws, agent_uuid), 404, "Agent not found")
    assert details(http, other, theirs)["agent"]["last_heartbeat_at"] is None


def test_terminated_agent_is_told_to_stop(http: httpx.Client, ws: dict[str, Any]) -> None:
    """409 (not 404): the record exists; the agent learns it was terminated."""
    agent_uuid = create_agent(http, ws)
    assert beat(http, ws, agent_uuid).status_code == 200
    wait_for(lambda: details(http, ws, agent_uuid), state_is("ACTIVE"))
    assert http.delete(f"/api/agents/{agent_uuid}", headers=auth(ws)).status_code == 200
    assert_error(beat(http, ws, agent_uuid), 409, "Agent is terminated")
    assert_error(report(http, ws, agent_uuid), 409, "Agent is terminated")
    body = details(http, ws, agent_uuid)
    assert body["agent"]["state"] == "TERMINATED"
    assert transitions(body) == [
        ("TERMINATED", "DRAINING", "TERMINATED"),
        ("DRAINING", "ACTIVE", "DRAINING"),
        ("ACTIVATED", "NEW", "ACTIVE"),
        ("CREATED", None, "NEW"),
    ]
    assert body["lifecycleEvents"][0]["metadata"] == {
        "triggered_by": "user",
        "reason": "deleted by the workspace's user",
    }
    assert body["lifecycleEvents"][0]["timestamp"] == body["agent"]["terminated_at"]
    assert body["agent"]["activated_at"] is not None
    assert listed(http, ws, agent_uuid) == body["agent"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}],
    ids=["missing", "invalid", "basic"],
)
def test_heartbeat_and_metrics_need_the_workspace_key(
    http: httpx.Client, ws: dict[str, Any], headers: dict[str, str]
) -> None:
    agent_uuid = create_agent(http, ws)
    for path, body in [("heartbeat", DOC_HEARTBEAT), ("metrics", DOC_METRICS)]:
        response = http.post(
            f"/api/agents/{agent_uuid}/{path}",
            json=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 401, response.text
        assert response.json() == {"error": "Unauthorized", "kind": "unauthorized"}
    response = http.post(
        f"/api/agents/{agent_uuid}/heartbeat",
        json=DOC_HEARTBEAT,
        headers={"x-api-key": ws["apiKey"]},
    )
    assert response.status_code == 401
    assert details(http, ws, agent_uuid)["agent"]["last_heartbeat_at"] is None


def test_metrics_doc_example(http: httpx.Client, ws: dict[str, Any]) -> None:
    agent_uuid = create_agent(http, ws)
    before = datetime.now(UTC).replace(microsecond=0)
    response = http.post(
        f"/api/agents/{agent_uuid}/metrics",
        headers={"Authorization": f"Bearer {ws['apiKey']}", "Content-Type": "application/json"},
        content=(
            b'{"cpu_percent": 12.5, "memory_mb": 128, "requests_handled": 45,'
            b' "custom_metrics": {"queue_depth": 3, "cache_hit_rate": 0.85}}'
        ),
    )
    assert response.status_code == 200, response.text
    assert response.json() == METRICS_RECORDED
    # The stream acknowledged the report before the answer: it is in the details at once.
    body = details(http, ws, agent_uuid)
    (metrics,) = body["recentMetrics"]
    assert set(metrics) == METRICS_KEYS
    assert int(metrics["id"]) > 0 and metrics["agent_uuid"] == agent_uuid
    assert {k: metrics[k] for k in DOC_METRICS} == DOC_METRICS
    assert before <= ts(metrics["timestamp"]) <= datetime.now(UTC)
    # Metrics are not heartbeats: no liveness, no state change.
    assert body["agent"]["state"] == "NEW" and body["agent"]["last_heartbeat_at"] is None
    assert body["recentHeartbeats"] == []

    minimal = {"cpu_percent": 0, "memory_mb": 0, "requests_handled": 0}
    assert report(http, ws, agent_uuid, minimal).json() == METRICS_RECORDED
    newest = details(http, ws, agent_uuid)["recentMetrics"][0]
    assert {k: newest[k] for k in DOC_METRICS} == {**minimal, "custom_metrics": {}}
    assert int(newest["id"]) > int(metrics["id"])


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"cpu_percent": 101}, "cpu_percent", ["between 0 and 100"]),
        ({"cpu_percent": -1}, "cpu_percent", ["between 0 and 100"]),
        ({"cpu_percent": "12.5"}, "cpu_percent", ["number"]),
        ({"cpu_percent": None}, "cpu_percent", ["required"]),
        ({"memory_mb": -1}, "memory_mb", [">= 0"]),
        ({"memory_mb": "128"}, "memory_mb", ["number"]),
        ({"memory_mb": None}, "memory_mb", ["required"]),
        ({"requests_handled": 4.5}, "requests_handled", ["integer"]),
        ({"requests_handled": -1}, "requests_handled", ["integer", ">= 0"]),
        ({"requests_handled": None}, "requests_handled", ["required"]),
        ({"custom_metrics": [1, 2]}, "custom_metrics", ["object"]),
        ({"custom_metrics": {"blob": "x" * 20_000}}, "custom_metrics", ["bytes"]),
        ({"mode": "IDLE"}, "mode", ["not allowed", "custom_metrics"]),
    ],
)
def test_metrics_missing_or_invalid_field(
    http: httpx.Client, ws: dict[str, Any], change: dict[str, Any], field: str, words: list[str]
) -> None:
    agent_uuid = create_agent(http, ws)
    body = {k: v for k, v in {**DOC_METRICS, **change}.items() if v is not None}
    assert_invalid(report(http, ws, agent_uuid, body), field, *words)
    assert details(http, ws, agent_uuid)["recentMetrics"] == []


def test_recent_lists_hold_the_last_ten_newest_first(
    http: httpx.Client, ws: dict[str, Any]
) -> None:
    agent_uuid = create_agent(http, ws)
    for n in range(1, 13):
        assert beat(http, ws, agent_uuid, {"mode": "IDLE", "uptime_seconds": n}).status_code == 200
        metrics = {"cpu_percent": n, "memory_mb": 100 + n, "requests_handled": n}
        assert report(http, ws, agent_uuid, metrics).status_code == 200
    body = wait_for(
        lambda: details(http, ws, agent_uuid),
        lambda b: b["recentHeartbeats"] and b["recentHeartbeats"][0]["uptime_seconds"] == 12,
    )
    beats, reports = body["recentHeartbeats"], body["recentMetrics"]
    assert [b["uptime_seconds"] for b in beats] == list(range(12, 2, -1))
    assert [r["requests_handled"] for r in reports] == list(range(12, 2, -1))
    for entries in (beats, reports):
        ids = [int(e["id"]) for e in entries]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 10
        stamps = [ts(e["timestamp"]) for e in entries]
        assert stamps == sorted(stamps, reverse=True)
        assert {e["agent_uuid"] for e in entries} == {agent_uuid}
    assert {b["mode"] for b in beats} == {"IDLE"}
    assert all(r["custom_metrics"] == {} for r in reports)


def test_heartbeats_never_spend_the_rate_limit(http: httpx.Client, system: RunningSystem) -> None:
    """Metrics and API calls share the tier's budget; heartbeats (the control path) never do."""
    free = create_workspace(http, system.admin_token, "free")
    agent_uuid = create_agent(http, free)
    statuses = [report(http, free, agent_uuid).status_code for _ in range(20)]
    assert statuses.count(429) >= 1, statuses  # burst of 10 within a second
    assert "X-RateLimit-Limit" in report(http, free, agent_uuid).headers
    for n in range(15):
        response = beat(http, free, agent_uuid, {"mode": "EMERGENCY", "uptime_seconds": n})
        assert response.status_code == 200, response.text
        assert "X-RateLimit-Limit" not in response.headers


# -- a dedicated system: real waiting for missed intervals ----------------------------------


@pytest.fixture(scope="module")
def live(system_factory: Callable[..., RunningSystem]) -> Iterator[RunningSystem]:
    running = system_factory(
        env={
            # Restart guard = default interval x missed beats + grace = 3 s after start.
            "AGENTPLANE_HEARTBEAT_INTERVAL_SECONDS": "1",
            "AGENTPLANE_HEARTBEAT_MISSED_BEATS": "2",
            "AGENTPLANE_LIVENESS_GRACE_SECONDS": "1",
        }
    )
    yield running


@pytest.fixture
def live_http(live: RunningSystem) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.base_url, timeout=30.0) as client:
        yield client


def test_new_active_unhealthy_active_with_real_waiting(
    live_http: httpx.Client, live: RunningSystem
) -> None:
    http = live_http
    ws = enterprise(http, live.admin_token)
    agent_uuid = create_agent(http, ws, "emergency-agent")
    assert details(http, ws, agent_uuid)["agent"]["state"] == "NEW"
    emergency = {"mode": "EMERGENCY", "uptime_seconds": 1}

    # NEW → ACTIVE on the first heartbeat.
    assert beat(http, ws, agent_uuid, emergency).json() == HEARTBEAT_RECORDED
    body = wait_for(lambda: details(http, ws, agent_uuid), state_is("ACTIVE"))
    activated_at = body["agent"]["activated_at"]
    assert activated_at is not None and activated_at == body["agent"]["last_heartbeat_at"]
    assert transitions(body) == [("ACTIVATED", "NEW", "ACTIVE"), ("CREATED", None, "NEW")]
    assert body["lifecycleEvents"][0]["metadata"] == BEAT_METADATA

    # Beating within the interval keeps it ACTIVE.
    for n in range(3):
        time.sleep(3.0)
        assert beat(http, ws, agent_uuid, {**emergency, "uptime_seconds": 4 + 3 * n}).is_success
    last_beat = time.monotonic()
    assert details(http, ws, agent_uuid)["agent"]["state"] == "ACTIVE"

    # ACTIVE → UNHEALTHY when one interval passes without a beat.
    body = wait_for(
        lambda: details(http, ws, agent_uuid), state_is("UNHEALTHY"), timeout=EMERGENCY_INTERVAL + 8
    )
    noticed = time.monotonic() - last_beat
    assert EMERGENCY_INTERVAL <= noticed <= EMERGENCY_INTERVAL + TOLERANCE + SWEEP + 1.5, noticed
    agent = body["agent"]
    unhealthy = body["lifecycleEvents"][0]
    assert (unhealthy["event_type"], unhealthy["from_state"], unhealthy["to_state"]) == (
        "AGENT_UNHEALTHY",
        "ACTIVE",
        "UNHEALTHY",
    )
    assert unhealthy["metadata"] == {
        "error_code": 480,
        "triggered_by": "system",
        "reason": "missed its heartbeat interval",
        "last_heartbeat_at": agent["last_heartbeat_at"],
    }
    gap = ts(unhealthy["timestamp"]) - ts(agent["last_heartbeat_at"])
    assert timedelta(seconds=4) <= gap <= timedelta(seconds=EMERGENCY_INTERVAL + TOLERANCE + 2)
    assert agent["activated_at"] == activated_at
    assert listed(http, ws, agent_uuid)["state"] == "UNHEALTHY"

    # UNHEALTHY → ACTIVE on the next heartbeat.
    assert beat(http, ws, agent_uuid, {**emergency, "uptime_seconds": 30}).is_success
    body = wait_for(
        lambda: details(http, ws, agent_uuid),
        lambda b: state_is("ACTIVE")(b) and b["recentHeartbeats"][0]["uptime_seconds"] == 30,
    )
    assert transitions(body) == [
        ("RECOVERED", "UNHEALTHY", "ACTIVE"),
        ("AGENT_UNHEALTHY", "ACTIVE", "UNHEALTHY"),
        ("ACTIVATED", "NEW", "ACTIVE"),
        ("CREATED", None, "NEW"),
    ]
    recovered = body["lifecycleEvents"][0]
    assert recovered["metadata"] == BEAT_METADATA
    assert recovered["timestamp"] == body["agent"]["last_heartbeat_at"]
    assert ts(body["agent"]["last_heartbeat_at"]) > ts(agent["last_heartbeat_at"])
    assert body["agent"]["activated_at"] == activated_at  # the first activation
    assert [b["uptime_seconds"] for b in body["recentHeartbeats"]] == [30, 10, 7, 4, 1]
    assert len({e["id"] for e in body["lifecycleEvents"]}) == 4
    assert listed(http, ws, agent_uuid) == body["agent"]


async def _flood(
    base_url: str, ws: dict[str, Any], agent_uuid: str, per_second: int, seconds: float
) -> list[int]:
    """`per_second` metrics reports a second, paced, for `seconds`.

    Never more than `per_second` sent within any one second, even when this process falls
    behind on a busy machine (a catch-up burst would hit the tier's burst limit, which is
    not what this test is about).
    """
    total = int(per_second * seconds)
    started = time.monotonic()
    window: deque[float] = deque()
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:

        async def one(n: int) -> int:
            response = await client.post(
                f"/api/agents/{agent_uuid}/metrics",
                json={**DOC_METRICS, "requests_handled": n},
                headers=json_auth(ws),
            )
            return response.status_code

        sending: list[asyncio.Task[int]] = []
        for n in range(total):
            await asyncio.sleep(max(0.0, started + n / per_second - time.monotonic()))
            if len(window) == per_second:
                await asyncio.sleep(max(0.0, window.popleft() + 1.05 - time.monotonic()))
            window.append(time.monotonic())
            sending.append(asyncio.create_task(one(n)))
        return list(await asyncio.gather(*sending))


def test_metrics_flood_does_not_starve_heartbeats(
    live_http: httpx.Client, live: RunningSystem
) -> None:
    """Metrics at 50 a second (normal: one a minute) while EMERGENCY beats go every 5 s."""
    http = live_http
    ws = enterprise(http, live.admin_token)
    agent_uuid = create_agent(http, ws, "flooded-agent")
    stop = threading.Event()
    beats: list[tuple[float, int]] = []

    def heartbeats() -> None:
        with httpx.Client(base_url=live.base_url, timeout=30.0) as client:
            n = 0
            start = time.monotonic()
            while not stop.is_set():
                sent = time.monotonic()
                status = beat(client, ws, agent_uuid, {"mode": "EMERGENCY", "uptime_seconds": n})
                beats.append((time.monotonic() - sent, status.status_code))
                n += 1
                stop.wait(max(0.0, start + n * EMERGENCY_INTERVAL - time.monotonic()))

    beater = threading.Thread(target=heartbeats)
    beater.start()
    try:
        wait_for(lambda: details(http, ws, agent_uuid), state_is("ACTIVE"))
        # 50 reports a second for 12 s: ten times the normal rate many times over (the
        # document's normal is one a minute), across more than two heartbeat intervals.
        statuses = asyncio.run(_flood(live.base_url, ws, agent_uuid, per_second=50, seconds=12))
        # Keep beating through one more interval after the flood, then look.
        time.sleep(EMERGENCY_INTERVAL + TOLERANCE + SWEEP)
        body = details(http, ws, agent_uuid)
    finally:
        stop.set()
        beater.join()
    assert statuses.count(200) == len(statuses) == 600, sorted(set(statuses))
    assert all(status == 200 for _, status in beats), beats
    assert body["agent"]["state"] == "ACTIVE"
    assert transitions(body) == [("ACTIVATED", "NEW", "ACTIVE"), ("CREATED", None, "NEW")]
    reports = body["recentMetrics"]
    # The newest ten (concurrent requests may finish a little out of order).
    assert len(reports) == 10 and all(r["requests_handled"] >= 550 for r in reports)
    slowest = max(latency for latency, _ in beats)
    assert slowest < TOLERANCE, f"a heartbeat took {slowest:.2f}s during the flood"


def test_replay_of_the_liveness_system_is_identical(live: RunningSystem) -> None:
    """The state machine rebuilt from the logs equals the live one (runs after the above)."""
    result = live.cli("replay", "--verify")
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("lifecycle.audit "))
    assert "identical" in line, result.stdout


def test_fresh_system_reports_a_missed_emergency_beat_on_time(
    system_factory: Callable[..., RunningSystem],
) -> None:
    """Issue 12: right after start (default settings: a 95 s restart guard), an agent that
    beats once in EMERGENCY mode and stops is UNHEALTHY within 5 s + tolerance + 2 s; the
    guard protects only agents whose last beat predates the start."""
    fresh = system_factory()
    with httpx.Client(base_url=fresh.base_url, timeout=30.0) as http:
        ws = enterprise(http, fresh.admin_token)
        agent_uuid = create_agent(http, ws, "emergency-agent")
        assert beat(http, ws, agent_uuid, {"mode": "EMERGENCY", "uptime_seconds": 1}).is_success
        last_beat = time.monotonic()
        wait_for(lambda: details(http, ws, agent_uuid), state_is("ACTIVE"))
        body = wait_for(
            lambda: details(http, ws, agent_uuid), state_is("UNHEALTHY"), timeout=20.0
        )
        noticed = time.monotonic() - last_beat
        assert noticed <= EMERGENCY_INTERVAL + TOLERANCE + 2.0, noticed
        assert body["lifecycleEvents"][0]["metadata"]["error_code"] == 480
