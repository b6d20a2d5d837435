"""Helpers of the channel tests: agents of each dialect, their WebSocket, the service client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
from nats.aio.client import Client
from tests.nats_auth.agents import seed000_agent, seed002_agent, seed003_agent
from websockets.asyncio.client import ClientConnection

from agentplane.testing.system import RunningSystem

MAKERS: dict[str, Callable[[httpx.Client, dict[str, Any]], tuple[str, str]]] = {
    "seed000-token": seed000_agent,
    "seed003-key": seed003_agent,
    "seed002-jwt": seed002_agent,
}


async def service_client(system: RunningSystem) -> Client:
    """The one place the channel tests connect to NATS as a service (the hub's side)."""
    return await system.nats_connect()


def agent_headers(agent_id: str, credential: str) -> dict[str, str]:
    return {"X-Agent-ID": agent_id, "Authorization": f"Bearer {credential}"}


def ws_url(system: RunningSystem, agent_id: str) -> str:
    return f"ws://127.0.0.1:{system.port}/v1/agents/{agent_id}/channel"


async def frame(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))
