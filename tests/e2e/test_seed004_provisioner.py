"""Seed 004 with the local provisioner: creating a PAP agent starts the reference agent as a
local process (NEW → PROVISIONED → ACTIVE), DELETE drains it (DRAINING → TERMINATED) and the
process is gone; a process killed with SIGKILL goes UNHEALTHY and is KILLED by the control
plane. Driven over HTTP like the document's curl examples, on a system of its own."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from tests.e2e.webhook_receiver import Receiver

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

KILL_AFTER = 2.0
IDLE_DEADLINE = 30.0 + 1.0  # IDLE interval + tolerance


@pytest.fixture(scope="module")
def local(system_factory: Callable[..., RunningSystem]) -> Iterator[RunningSystem]:
    yield system_factory(
        env={
            "AGENTPLANE_PROVISIONER": "local",
            "AGENTPLANE_KILL_AFTER_SECONDS": str(KILL_AFTER),
            # The webhook receiver is on loopback; retries come quickly after it is back.
            "AGENTPLANE_WEBHOOKS_ALLOW_PRIVATE": "true",
            "AGENTPLANE_WEBHOOKS_RETRY_BASE_SECONDS": "0.5",
            "AGENTPLANE_WEBHOOKS_RETRY_MAX_SECONDS": "2",
        }
    )


@pytest.fixture
def http(local: RunningSystem) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local.base_url, timeout=30.0) as client:
        yield client


def bearer(ws: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {ws['apiKey']}", "Content-Type": "application/json"}


def details(http: httpx.Client, ws: dict[str, Any], agent_uuid: str) -> dict[str, Any]:
    response = http.get(f"/api/agents/{agent_uuid}", headers=bearer(ws))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_state(
    http: httpx.Client, ws: dict[str, Any], agent_uuid: str, state: str, timeout: float = 15.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = details(http, ws, agent_uuid)
        if body["agent"]["state"] == state:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


def wait_until(probe: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def steps(body: dict[str, Any]) -> list[tuple[str, str | None, str, str]]:
    return [
        (e["event_type"], e["from_state"], e["to_state"], e["metadata"]["triggered_by"])
        for e in body["lifecycleEvents"]
    ]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) is not alive either.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def create(http: httpx.Client, ws: dict[str, Any], name: str) -> tuple[str, int]:
    response = http.post("/api/agents", json={"name": name}, headers=bearer(ws))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["agent"]["state"] == "NEW"
    deployment = body["deployment"]
    assert deployment["success"] is True, deployment
    assert deployment["deploymentName"] == name
    match = re.fullmatch(rf"Agent {name} deployed as local process (\d+)", deployment["message"])
    assert match, deployment
    return body["agent"]["uuid"], int(match.group(1))


def test_create_starts_a_real_agent_and_delete_drains_it(
    http: httpx.Client, local: RunningSystem
) -> None:
    ws = create_workspace(http, local.admin_token, "enterprise")
    agent_uuid, pid = create(http, ws, "my-agent")
    assert alive(pid)
    body = wait_state(http, ws, agent_uuid, "ACTIVE")
    assert steps(body) == [
        ("ACTIVATED", "PROVISIONED", "ACTIVE", "heartbeat"),
        ("PROVISIONED", "NEW", "PROVISIONED", "provisioner"),
        ("CREATED", None, "NEW", "user"),
    ]
    agent = body["agent"]
    assert agent["provisioned_at"] and agent["activated_at"] and agent["last_heartbeat_at"]
    (first_beat,) = body["recentHeartbeats"]
    assert first_beat["mode"] == "IDLE"

    response = http.delete(f"/api/agents/{agent_uuid}", headers=bearer(ws))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "Agent terminated successfully",
        "kubernetes": {
            "success": True,
            "message": f"Agent my-agent drained; its process {pid} exited",
        },
    }
    assert not alive(pid)
    body = wait_state(http, ws, agent_uuid, "TERMINATED")
    assert steps(body)[:2] == [
        ("TERMINATED", "DRAINING", "TERMINATED", "user"),
        ("DRAINING", "ACTIVE", "DRAINING", "user"),
    ]


def test_a_killed_process_goes_unhealthy_then_is_killed(
    http: httpx.Client, local: RunningSystem
) -> None:
    ws = create_workspace(http, local.admin_token, "enterprise")
    receiver = Receiver().start()
    hook = http.post(
        "/v1/webhooks", json={"url": receiver.url}, headers={"x-api-key": ws["apiKey"]}
    )
    assert hook.status_code == 201, hook.text
    secret = hook.json()["secret"]
    agent_uuid, pid = create(http, ws, "doomed")
    body = wait_state(http, ws, agent_uuid, "ACTIVE")
    wait_until(lambda: len(receiver.unique(secret)) >= 3, timeout=15.0)
    # The receiver is down from here on: UNHEALTHY and KILLED are sent while it is.
    receiver.stop()
    last_beat = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    body = wait_state(http, ws, agent_uuid, "UNHEALTHY", timeout=IDLE_DEADLINE + 10)
    assert time.monotonic() - last_beat <= IDLE_DEADLINE + 2.0 + 1.0  # + our polling
    assert body["lifecycleEvents"][0]["metadata"]["error_code"] == 480
    body = wait_state(http, ws, agent_uuid, "KILLED", timeout=KILL_AFTER + 5)
    killed, unhealthy = body["lifecycleEvents"][:2]
    assert (killed["event_type"], killed["from_state"], killed["metadata"]["triggered_by"]) == (
        "KILLED", "UNHEALTHY", "system",
    )  # fmt: skip
    assert "unhealthy for more than 2 s" in killed["metadata"]["reason"]
    # Killed after the configured time, not before.
    spell = parse_ts(killed["timestamp"]) - parse_ts(unhealthy["timestamp"])
    assert spell.total_seconds() >= KILL_AFTER, (unhealthy, killed)
    # The registry record ends with the kill (the lifecycle's KILLED event, not a user's
    # delete): the agent's credentials stop working, seed 000's audit log shows the end, and
    # the name is free again.
    key = {"x-api-key": ws["apiKey"]}

    def record_ended() -> bool:
        logs = http.get(f"/v1/agents/{agent_uuid}/audit-logs", headers=key).json()["logs"]
        return "terminated" in [entry["action"] for entry in logs]

    wait_until(record_ended, timeout=10.0)
    beat = http.post(
        f"/api/agents/{agent_uuid}/heartbeat",
        json={"mode": "IDLE", "uptime_seconds": 1},
        headers=bearer(ws),
    )
    assert beat.status_code == 409 and beat.json()["error"] == "Agent is terminated", beat.text
    ended = details(http, ws, agent_uuid)["agent"]
    assert (ended["state"], ended["terminated_at"]) == ("KILLED", killed["timestamp"])
    again, _ = create(http, ws, "doomed")
    assert again != agent_uuid
    assert http.delete(f"/api/agents/{again}", headers=bearer(ws)).status_code == 200
    # Back up, the receiver gets every transition of the first agent, signed, in order.
    receiver.start()
    try:

        def first_agents_events() -> list[str]:
            # In the order first received (delivery is in order per agent).
            payloads = receiver.unique(secret).values()
            return [p["event"] for p in payloads if p["agent_uuid"] == agent_uuid]

        wait_until(lambda: "agent.killed" in first_agents_events(), timeout=30.0)
        assert first_agents_events() == [
            "agent.created", "agent.provisioned", "agent.activated", "agent.unhealthy",
            "agent.killed",
        ]  # fmt: skip
    finally:
        receiver.stop()
    # The user can still delete the record's agent: nothing changes any more.
    response = http.delete(f"/api/agents/{agent_uuid}", headers=bearer(ws))
    assert response.status_code == 200, response.text
    assert response.json()["kubernetes"]["success"] is False
    assert details(http, ws, agent_uuid)["agent"]["state"] == "KILLED"
