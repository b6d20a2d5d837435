"""Seed 000 remote commands: sent over HTTP, delivered over the agent channel, with state.

The agent here is a raw nats-py client connected the way an agent connects (user = its id,
password = its own token), so these tests also prove its permissions suffice.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from tests.e2e.command_agent import (
    ChannelAgent,
    command,
    connect_test_agent,
    get,
    headers,
    post,
    send,
)
from tests.nats_auth.agents import eventually, seed000_agent

from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


async def test_offline_agent_gets_queued_commands_in_order_after_hello(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any], agents: list[ChannelAgent]
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    sent = []
    for action in ("status", "restart", "reach"):
        response = await send(http, workspace, agent_id, {"action": action, "params": {"n": 1}})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True
        assert body["commandId"].startswith("cmd_")
        assert body["message"] == f"Command '{action}' sent to agent"
        assert body["agentOnline"] is False
        sent.append(body["commandId"])
    state = await command(http, workspace, agent_id, sent[0])
    assert state["status"] == "queued" and state["deliveredAt"] is None
    assert state["params"] == {"n": 1} and state["action"] == "status"

    agent = await connect_test_agent(system.nats_url, agent_id, token)
    agents.append(agent)
    welcome = await agent.hello()
    assert welcome == {"agent_id": agent_id, "heartbeat_interval_seconds": 30.0, "pending": 3}
    assert await eventually(lambda: len(agent.received) == 3, 10)
    assert [m.id for m in agent.received] == sent
    assert [m.body["action"] for m in agent.received] == ["status", "restart", "reach"]
    assert all(m.kind == "command" for m in agent.received)

    async def acknowledged() -> bool:
        states = [await command(http, workspace, agent_id, c) for c in sent]
        return all(s["status"] == "acknowledged" for s in states)

    assert await eventually(acknowledged, 10)
    await agent.result(sent[0], "succeeded", {"state": "running"})
    await agent.result(sent[1], "failed", {})

    async def finished() -> bool:
        first = await command(http, workspace, agent_id, sent[0])
        second = await command(http, workspace, agent_id, sent[1])
        return first["status"] == "succeeded" and second["status"] == "failed"

    assert await eventually(finished, 10)
    first = await command(http, workspace, agent_id, sent[0])
    assert first["result"] == {"state": "running"}
    assert first["finishedAt"] and first["acknowledgedAt"] and first["deliveredAt"]
    assert (await command(http, workspace, agent_id, sent[1]))["error"] == "it broke"
    # A repeated result changes nothing.
    await agent.result(sent[0], "failed", {})
    await asyncio.sleep(0.5)
    assert (await command(http, workspace, agent_id, sent[0]))["status"] == "succeeded"

    async def audited() -> list[str]:
        response = await get(http, f"/v1/agents/{agent_id}/audit-logs", headers=headers(workspace))
        return [e["action"] for e in response.json()["logs"]]

    assert await eventually(
        lambda: _contains(
            audited(), ["command_sent"] * 3 + ["command_succeeded", "command_failed"]
        ),
        10,
    )
    response = await get(http, f"/v1/agents/{agent_id}/audit-logs", headers=headers(workspace))
    entry = next(e for e in response.json()["logs"] if e["action"] == "command_succeeded")
    assert entry["metadata"]["commandId"] == sent[0] and entry["metadata"]["action"] == "status"
    assert "params" not in entry["metadata"] and "result" not in entry["metadata"]


async def _contains(actions: Any, expected: list[str]) -> bool:
    found = await actions
    return all(found.count(a) >= expected.count(a) for a in set(expected))


async def test_connected_agent_receives_at_once(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any], agents: list[ChannelAgent]
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    beat = await post(http, "/v1/agents/heartbeat", json={"agentId": agent_id, "token": token})
    assert beat.status_code == 200, beat.text
    agent = await connect_test_agent(system.nats_url, agent_id, token)
    agents.append(agent)
    response = await send(http, workspace, agent_id, {"action": "status"})
    returned = time.monotonic()
    assert response.json()["agentOnline"] is True
    command_id = response.json()["commandId"]
    assert await eventually(lambda: command_id in agent.arrived, 30)
    assert agent.arrived[command_id] - returned < 2.0


async def test_invalid_requests(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, _ = seed000_agent(http, workspace)
    bad_action = await send(http, workspace, agent_id, {"action": "dance"})
    assert bad_action.status_code == 400 and "action" in bad_action.text
    missing = await send(http, workspace, agent_id, {"params": {}})
    assert missing.status_code == 400
    assert (
        await send(http, workspace, agent_id, {"action": "status", "ttlSeconds": 0})
    ).status_code == 400
    huge = await send(http, workspace, agent_id, {"action": "status", "params": {"x": "a" * 70000}})
    assert huge.status_code == 413, huge.text
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await send(http, workspace, unknown, {"action": "status"})).status_code == 404
    assert (await send(http, workspace, "nope", {"action": "status"})).status_code == 404
    other = (
        await post(
            http,
            "/v1/admin/workspaces",
            json={"name": f"other-{time.monotonic_ns()}", "tier": "free"},
            headers={"Authorization": f"Bearer {system.admin_token}"},
        )
    ).json()
    assert (await send(http, other, agent_id, {"action": "status"})).status_code == 404
    no_key = await post(http, f"/v1/agents/{agent_id}/command", json={"action": "status"})
    assert no_key.status_code == 401
    sent = (await send(http, workspace, agent_id, {"action": "status"})).json()["commandId"]
    other_read = await get(http, f"/v1/agents/{agent_id}/commands/{sent}", headers=headers(other))
    assert other_read.status_code == 404
    bogus = await get(http, f"/v1/agents/{agent_id}/commands/cmd_zz", headers=headers(workspace))
    assert bogus.status_code == 404


async def test_cancel_list_and_idempotency(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, _ = seed000_agent(http, workspace)
    ids = []
    for _ in range(3):
        ids.append(
            (await send(http, workspace, agent_id, {"action": "status"})).json()["commandId"]
        )
    again = await send(http, workspace, agent_id, {"action": "stop"}, **{"Idempotency-Key": "k1"})
    repeat = await send(http, workspace, agent_id, {"action": "stop"}, **{"Idempotency-Key": "k1"})
    assert again.json()["commandId"] == repeat.json()["commandId"]
    clash = await send(http, workspace, agent_id, {"action": "status"}, **{"Idempotency-Key": "k1"})
    assert clash.status_code == 409
    ids.append(again.json()["commandId"])

    path = f"/v1/agents/{agent_id}/commands"
    first = await get(http, path, params={"limit": 3}, headers=headers(workspace))
    assert first.status_code == 200
    assert [c["commandId"] for c in first.json()] == ids[::-1][:3]
    assert "params" not in first.json()[0]
    cursor = first.headers["X-Next-Cursor"]
    rest = await get(http, path, params={"limit": 3, "cursor": cursor}, headers=headers(workspace))
    assert [c["commandId"] for c in rest.json()] == ids[:1]
    assert "X-Next-Cursor" not in rest.headers
    assert (
        await get(http, path, params={"cursor": "###"}, headers=headers(workspace))
    ).status_code == 400
    assert (
        await get(http, path, params={"limit": 501}, headers=headers(workspace))
    ).status_code == 400

    cancel = await asyncio.to_thread(http.delete, f"{path}/{ids[0]}", headers=headers(workspace))
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] == "cancelled" and cancel.json()["success"] is True
    twice = await asyncio.to_thread(http.delete, f"{path}/{ids[0]}", headers=headers(workspace))
    assert twice.status_code == 409
    missing = await asyncio.to_thread(
        http.delete, f"{path}/cmd_{'0' * 32}", headers=headers(workspace)
    )
    assert missing.status_code == 404


async def test_expiry_is_a_state_of_its_own(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, _ = seed000_agent(http, workspace)
    response = await send(http, workspace, agent_id, {"action": "status", "ttlSeconds": 1})
    command_id = response.json()["commandId"]

    async def expired() -> bool:
        return (await command(http, workspace, agent_id, command_id))["status"] == "expired"

    assert await eventually(expired, 10)
    state = await command(http, workspace, agent_id, command_id)
    assert state["finishedAt"] is not None


async def test_a_terminated_agents_queued_commands_end_cancelled(
    http: httpx.Client, system: RunningSystem
) -> None:
    from agentplane.testing.plugin import create_workspace

    ws = create_workspace(http, system.admin_token, tier="enterprise")
    bearer = {"Authorization": f"Bearer {ws['apiKey']}", "Content-Type": "application/json"}
    created = await post(http, "/api/agents", json={"name": "gone-soon"}, headers=bearer)
    assert created.status_code == 201, created.text
    agent_id = created.json()["agent"]["uuid"]
    sent = await send(http, ws, agent_id, {"action": "status"})
    assert sent.status_code == 200, sent.text
    command_id = sent.json()["commandId"]
    deleted = await asyncio.to_thread(http.delete, f"/api/agents/{agent_id}", headers=bearer)
    assert deleted.status_code == 200, deleted.text

    async def cancelled() -> bool:
        return (await command(http, ws, agent_id, command_id))["status"] == "cancelled"

    assert await eventually(cancelled, 15)
