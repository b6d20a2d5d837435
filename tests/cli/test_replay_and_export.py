"""`agentplane replay --verify` and `agentplane events export` against a real system."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem


@pytest.fixture(scope="module")
def busy_system(system_factory: Callable[..., RunningSystem]) -> dict[str, Any]:
    """A system with a little history: workspaces, provisioned and registered agents, beats."""
    running = system_factory()
    agents = []
    with httpx.Client(base_url=running.base_url, timeout=30) as client:
        ws = create_workspace(client, running.admin_token)
        key = {"x-api-key": ws["apiKey"]}
        for i in range(5):
            agent = client.post(
                "/v1/agents/provision", headers=key, json={"clientType": "aider", "name": f"a{i}"}
            ).json()
            client.post(
                "/v1/agents/register",
                headers=key,
                json={"agentId": agent["agentId"], "token": agent["token"], "name": f"r{i}"},
            ).raise_for_status()
            client.post(
                "/v1/agents/heartbeat", json={"agentId": agent["agentId"], "token": agent["token"]}
            ).raise_for_status()
            agents.append(agent)
            # Commands: one left queued, one cancelled, so the messaging view has history.
            command = client.post(
                f"/v1/agents/{agent['agentId']}/command", headers=key, json={"action": "status"}
            )
            command.raise_for_status()
            if i == 0:
                path = f"/v1/agents/{agent['agentId']}/commands/{command.json()['commandId']}"
                client.delete(path, headers=key).raise_for_status()
        # The first transition is saved asynchronously; wait until the audit log shows it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            logs = client.get(f"/v1/agents/{agents[-1]['agentId']}/audit-logs", headers=key)
            if any(e["action"] == "came_online" for e in logs.json()["logs"]):
                break
            time.sleep(0.1)
    return {"system": running, "workspace": ws, "agents": agents}


def test_replay_verify_rebuilds_every_read_model_and_finds_them_identical(
    busy_system: dict[str, Any],
) -> None:
    result = busy_system["system"].cli("replay", "--verify")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for view in ("registry", "heartbeat", "messaging", "lifecycle.audit"):
        line = next(line for line in lines if line.startswith(view + " "))
        assert "identical" in line
        assert int(re.search(r"events=(\d+)", line).group(1)) > 0  # type: ignore[union-attr]
    assert re.search(r"total .* events/s", result.stdout)


def test_replay_verify_fails_when_a_live_view_differs(
    system_factory: Callable[..., RunningSystem],
) -> None:
    running = system_factory()
    with httpx.Client(base_url=running.base_url, timeout=30) as client:
        ws = create_workspace(client, running.admin_token)
        client.post(
            "/v1/agents/provision",
            headers={"x-api-key": ws["apiKey"]},
            json={"clientType": "cline"},
        ).raise_for_status()
    running.stop()
    with sqlite3.connect(running.data_dir / "registry_views.sqlite") as db:
        db.execute("UPDATE view_rows SET doc = replace(doc, 'cline', 'bolt') WHERE kind='agent'")
    result = running.cli("replay", "--verify")
    assert result.returncode == 1, result.stdout
    assert "rows differ" in result.stdout


def _export(system: RunningSystem, *args: str) -> list[dict[str, Any]]:
    result = system.cli("events", "export", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_events_export_writes_json_lines_in_global_order(busy_system: dict[str, Any]) -> None:
    running: RunningSystem = busy_system["system"]
    events = _export(running)
    assert {e["type"] for e in events} >= {
        "workspace.Created",
        "agent.Provisioned",
        "agent.RegistrationCompleted",
        "liveness.CameOnline",
    }
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids))
    per_app: dict[str, list[int]] = {}
    for event in events:
        per_app.setdefault(event["app"], []).append(event["position"])
    assert all(p == sorted(p) for p in per_app.values())
    # Nothing secret is exported: no token and no keyed hash.
    text = json.dumps(events)
    for agent in busy_system["agents"]:
        assert agent["token"] not in text
    assert busy_system["workspace"]["apiKey"] not in text
    assert "token_hash" not in text and "api_key_hash" not in text


def test_events_export_filters_by_agent_type_and_time(busy_system: dict[str, Any]) -> None:
    running: RunningSystem = busy_system["system"]
    agent_id = busy_system["agents"][0]["agentId"]
    mine = _export(running, "--agent", agent_id)
    assert mine and all(e["agent_id"] == agent_id for e in mine)
    assert [e["type"] for e in mine][:2] == ["agent.Provisioned", "agent.RegistrationCompleted"]

    provisioned = _export(running, "--type", "agent.Provisioned")
    assert len(provisioned) == 5 and {e["type"] for e in provisioned} == {"agent.Provisioned"}

    future = datetime.now(UTC).replace(year=datetime.now(UTC).year + 1).isoformat()
    assert _export(running, "--since", future) == []
    since = mine[1]["occurred_at"]
    later = _export(running, "--agent", agent_id, "--since", since)
    # The system is live: the agent's later events (e.g. going offline) may land in between.
    assert [e["id"] for e in later][: len(mine) - 1] == [e["id"] for e in mine[1:]]


def test_events_export_reads_the_stores_when_the_system_is_stopped(
    busy_system: dict[str, Any],
) -> None:
    running: RunningSystem = busy_system["system"]
    # The system is live, so events may land between two exports: each export must hold
    # everything the one before it held, from the other source.
    live = {e["id"] for e in _export(running, "--source", "stream")}
    stored = {e["id"] for e in _export(running, "--source", "store")}
    live_again = {e["id"] for e in _export(running, "--source", "stream")}
    assert live <= stored <= live_again
