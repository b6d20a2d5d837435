"""Remote commands on the agent channel: redelivery, ownership, audit of every end, dialects.

Agents are raw nats-py clients connected as the agent itself (tests/e2e/command_agent.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.e2e.command_agent import (
    ChannelAgent,
    audit_entries,
    command,
    connect_test_agent,
    headers,
    send,
)
from tests.nats_auth.agents import eventually, seed000_agent, seed002_agent, seed003_agent

from agentplane.contracts.subjects import AgentChannel
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


async def _status(http: httpx.Client, ws: dict[str, Any], agent_id: str, command_id: str) -> str:
    state: str = (await command(http, ws, agent_id, command_id))["status"]
    return state


async def test_an_unacknowledged_delivery_counts_as_delivered_and_is_sent_again(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any], agents: list[ChannelAgent]
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    agent = await connect_test_agent(system.nats_url, agent_id, token)
    agents.append(agent)
    # Two attempts go unanswered: `delivered` then lasts at least one ack timeout (a single
    # drop may be followed at once by a retry that was waiting for the agent's turn).
    agent.drop = 2
    command_id = (await send(http, workspace, agent_id, {"action": "status"})).json()["commandId"]

    async def delivered() -> bool:
        return await _status(http, workspace, agent_id, command_id) == "delivered"

    assert await eventually(delivered, 30)
    state = await command(http, workspace, agent_id, command_id)
    assert state["deliveredAt"] is not None and state["acknowledgedAt"] is None

    async def acknowledged() -> bool:
        return await _status(http, workspace, agent_id, command_id) == "acknowledged"

    assert await eventually(acknowledged, 20)
    # The same message again (at least once); the agent drops repeats by its id.
    assert [m.id for m in agent.received] == [command_id] * 3

    # The same Idempotency-Key after delivery: the same command, not sent a second time.
    key = {"Idempotency-Key": "once"}
    first = (await send(http, workspace, agent_id, {"action": "stop"}, **key)).json()
    assert await eventually(lambda: first["commandId"] in agent.arrived, 30)
    again = (await send(http, workspace, agent_id, {"action": "stop"}, **key)).json()
    assert again["commandId"] == first["commandId"] and again["success"] is True
    await asyncio.sleep(0.5)
    assert [m.id for m in agent.received].count(first["commandId"]) == 1


async def test_a_result_counts_only_from_the_agent_the_command_is_for(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any], agents: list[ChannelAgent]
) -> None:
    owner_id, owner_token = seed000_agent(http, workspace)
    other_id, other_token = seed000_agent(http, workspace)
    owner = await connect_test_agent(system.nats_url, owner_id, owner_token)
    other = await connect_test_agent(system.nats_url, other_id, other_token)
    agents.extend([owner, other])
    command_id = (await send(http, workspace, owner_id, {"action": "status"})).json()["commandId"]

    async def acknowledged() -> bool:
        return await _status(http, workspace, owner_id, command_id) == "acknowledged"

    assert await eventually(acknowledged, 10)
    # On its own subject the other agent names a command that is not its own: no change.
    await other.result(command_id, "failed", {})
    # On the owner's subject NATS refuses it (the subject is the identity).
    forged = AgentChannel.from_agent(owner_id, AgentChannel.RESULT)
    await other.client.nc.publish(forged, b"{}")
    assert await other.client.violations(1)
    await asyncio.sleep(0.5)
    assert await _status(http, workspace, owner_id, command_id) == "acknowledged"
    await owner.result(command_id, "succeeded", {"ok": True})

    async def succeeded() -> bool:
        return await _status(http, workspace, owner_id, command_id) == "succeeded"

    assert await eventually(succeeded, 10)


async def test_cancelled_and_expired_commands_are_audited_without_params(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, _ = seed000_agent(http, workspace)
    secret_params = {"path": "/very/private/place"}
    cancelled = (
        await send(http, workspace, agent_id, {"action": "restart", "params": secret_params})
    ).json()["commandId"]
    path = f"/v1/agents/{agent_id}/commands/{cancelled}"
    response = await asyncio.to_thread(http.delete, path, headers=headers(workspace))
    assert response.status_code == 200, response.text
    expiring = (await send(http, workspace, agent_id, {"action": "reach", "ttlSeconds": 1})).json()[
        "commandId"
    ]

    async def both_audited() -> bool:
        actions = {e["action"] for e in await audit_entries(http, workspace, agent_id)}
        return {"command_cancelled", "command_expired"} <= actions

    assert await eventually(both_audited, 10)
    entries = await audit_entries(http, workspace, agent_id)
    ends = {e["action"]: e["metadata"] for e in entries if e["action"].startswith("command_")}
    assert (
        ends["command_cancelled"].items() >= {"commandId": cancelled, "action": "restart"}.items()
    )
    assert ends["command_expired"].items() >= {"commandId": expiring, "action": "reach"}.items()
    assert not {"params", "result"} & (
        ends["command_cancelled"].keys() | ends["command_expired"].keys()
    )
    assert "private" not in str(entries)
    # A cancelled command is not delivered when the agent comes (it is no longer pending).
    assert await _status(http, workspace, agent_id, cancelled) == "cancelled"


async def test_hello_tells_each_dialect_its_own_heartbeat_interval(
    system_factory: Callable[..., RunningSystem],
) -> None:
    running = system_factory(
        env={
            "AGENTPLANE_HEARTBEAT_INTERVAL_SECONDS": "13",
            "AGENTPLANE_DEVICE_HEARTBEAT_INTERVAL_SECONDS": "7",
            "AGENTPLANE_ORCHESTRATOR_HEARTBEAT_INTERVAL_SECONDS": "11",
        }
    )
    from agentplane.testing.plugin import create_workspace

    with httpx.Client(base_url=running.base_url, timeout=30) as http:
        ws = create_workspace(http, running.admin_token)
        enrolled = [
            (seed000_agent(http, ws), 13.0),
            (seed003_agent(http, ws), 7.0),
            (seed002_agent(http, ws), 11.0),
        ]
        queued = (await send(http, ws, enrolled[1][0][0], {"action": "status"})).json()
    for (agent_id, credential), interval in enrolled:
        agent = await connect_test_agent(running.nats_url, agent_id, credential)
        try:
            welcome = await agent.hello()
            assert welcome["agent_id"] == agent_id
            assert welcome["heartbeat_interval_seconds"] == interval
            if agent_id == enrolled[1][0][0]:
                assert welcome["pending"] == 1
                assert await eventually(lambda a=agent: queued["commandId"] in a.arrived, 30)
        finally:
            await agent.client.nc.close()


async def test_openapi_lists_the_error_codes_of_the_command_endpoints(
    system: RunningSystem, http: httpx.Client
) -> None:
    paths = (await asyncio.to_thread(http.get, "/openapi.json")).json()["paths"]
    send_codes = set(paths["/v1/agents/{agent_id}/command"]["post"]["responses"])
    assert {"200", "400", "401", "404", "409", "413"} <= send_codes
    one = paths["/v1/agents/{agent_id}/commands/{command_id}"]
    assert {"400", "401", "404"} <= set(one["get"]["responses"])
    assert {"401", "404", "409"} <= set(one["delete"]["responses"])
    assert {"400", "401", "404"} <= set(paths["/v1/agents/{agent_id}/commands"]["get"]["responses"])
