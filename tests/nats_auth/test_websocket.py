"""The NATS WebSocket listener (agents behind HTTP proxies): same admission, same limits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from nats.aio.msg import Msg
from tests.nats_auth.agents import connect_agent, eventually, refused, seed000_agent

from agentplane.contracts.subjects import AgentChannel, Registry
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem, free_port

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def ws_system(system_factory: Callable[..., RunningSystem]) -> RunningSystem:
    return system_factory(env={"AGENTPLANE_NATS_WEBSOCKET_PORT": str(free_port())})


async def test_an_agent_connects_over_websocket_with_its_own_permissions(
    ws_system: RunningSystem,
) -> None:
    url = ws_system.runtime()["nats_websocket_url"]
    assert url.startswith("ws://")
    with httpx.Client(base_url=ws_system.base_url, timeout=30) as http:
        workspace: dict[str, Any] = create_workspace(http, ws_system.admin_token)
        agent_id, token = seed000_agent(http, workspace)
    await refused(url)
    await refused(url, user=agent_id, password="wrong")

    service = await ws_system.nats_connect()
    agent = await connect_agent(url, agent_id, token)
    try:
        received: list[Msg] = []

        async def collect(msg: Msg) -> None:
            received.append(msg)

        await service.subscribe(AgentChannel.from_agent(agent_id, ">"), cb=collect)
        await service.flush()
        await agent.nc.publish(AgentChannel.from_agent(agent_id, "x"), b"over ws")
        await agent.nc.publish(Registry.AGENT_LIST, b"{}")
        await agent.nc.subscribe(AgentChannel.inbox(str(uuid.uuid4())))
        await agent.nc.flush()
        assert await eventually(lambda: bool(received), 15.0)  # only a hang is meant
        assert received[0].data == b"over ws"
        assert len(await agent.violations(2)) == 2
        await asyncio.sleep(0.1)
        assert agent.nc.is_connected
    finally:
        await agent.nc.close()
        await service.close()


def test_the_websocket_listener_is_off_by_default(system: RunningSystem) -> None:
    assert system.runtime()["nats_websocket_url"] is None
