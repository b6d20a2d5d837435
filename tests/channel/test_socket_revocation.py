"""A channel socket ends (4401) within a second of its credential's revocation: the registry's
event of the agent wakes it, no polling needed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from tests.channel.sockets import agent_headers, frame, ws_url
from tests.nats_auth.agents import key_headers, seed000_agent, seed002_agent
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

BUDGET_SECONDS = 1.0


async def closed_within(ws: ClientConnection, started: float) -> float:
    with pytest.raises(ConnectionClosed) as closed:
        await frame(ws, timeout=10)
    elapsed = time.monotonic() - started
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert elapsed < BUDGET_SECONDS, f"closed after {elapsed:.3f} s"
    return elapsed


async def test_rotating_a_seed000_token_closes_its_socket(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    async with connect(
        ws_url(system, agent_id), additional_headers=agent_headers(agent_id, token)
    ) as ws:
        await ws.send('{"type": "hb", "data": {}}')
        assert (await frame(ws))["type"] == "hb"  # admitted and watched
        started = time.monotonic()
        response = await asyncio.to_thread(
            http.post, "/v1/agents/rotate-token", json={"agentId": agent_id, "currentToken": token}
        )
        assert response.status_code == 200, response.text
        elapsed = await closed_within(ws, started)
        print(f"rotate-token → channel socket closed in {elapsed:.3f} s")
        new_token = response.json()["newToken"]
    # The new token opens a socket that stays.
    async with connect(
        ws_url(system, agent_id), additional_headers=agent_headers(agent_id, new_token)
    ) as ws:
        await ws.send('{"type": "hb", "data": {}}')
        assert (await frame(ws))["type"] == "hb"


async def test_deleting_a_seed002_agent_closes_its_sockets(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, jwt = seed002_agent(http, workspace)
    headers = agent_headers(agent_id, jwt)
    async with (
        connect(ws_url(system, agent_id), additional_headers=headers) as first,
        connect(ws_url(system, agent_id), additional_headers=headers) as second,
    ):
        for ws in (first, second):
            await ws.send('{"type": "hb", "data": {}}')
            assert (await frame(ws))["type"] == "hb"
        started = time.monotonic()
        response = await asyncio.to_thread(
            http.delete, f"/api/v1/agents/{agent_id}", headers=key_headers(workspace)
        )
        assert response.status_code == 200, response.text
        for ws in (first, second):
            await closed_within(ws, started)
