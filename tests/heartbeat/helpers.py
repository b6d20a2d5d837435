"""Helpers of the heartbeat tests: agents registered over HTTP, beats over NATS."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
from nats.aio.client import Client

from agentplane.contracts.liveness import HeartbeatStats
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import Heartbeat


def new_token() -> str:
    return "agent_tok_" + uuid.uuid4().hex


async def register(http: httpx.AsyncClient, workspace: dict[str, Any]) -> tuple[str, str]:
    agent_id, token = str(uuid.uuid4()), new_token()
    response = await http.post(
        "/v1/agents/register",
        json={"agentId": agent_id, "token": token, "name": "nats-agent"},
        headers={"x-api-key": workspace["apiKey"]},
    )
    assert response.status_code == 201, response.text
    return agent_id, token


async def beat(nc: Client, agent_id: str, body: Any, raw: bytes | None = None) -> Reply:
    """A NATS-native heartbeat with a reply subject; the service's answer."""
    data = raw if raw is not None else json.dumps(body).encode()
    msg = await nc.request(Heartbeat.native(agent_id), data, timeout=5)
    return Reply.model_validate_json(msg.data)


async def stats(nc: Client) -> HeartbeatStats:
    msg = await nc.request(Heartbeat.STATS, b"{}", timeout=5)
    return HeartbeatStats.model_validate(Reply.model_validate_json(msg.data).data)


async def listed(
    http: httpx.AsyncClient, workspace: dict[str, Any], agent_id: str
) -> dict[str, Any]:
    response = await http.get("/v1/agents", headers={"x-api-key": workspace["apiKey"]})
    assert response.status_code == 200, response.text
    return next(a for a in response.json() if a["id"] == agent_id)


async def eventually(check: Any, timeout: float = 5.0) -> None:
    """Retry an assertion until it holds (for effects that arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                await result
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
