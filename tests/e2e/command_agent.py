"""A raw nats-py agent for the command tests, connected as the agent itself, and HTTP helpers."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from nats.aio.msg import Msg
from tests.nats_auth.agents import AgentClient, connect_agent

from agentplane.contracts.channel import ChannelAck, HubMessage
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import AgentChannel


def headers(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"], "Content-Type": "application/json"}


async def post(http: httpx.Client, path: str, **kwargs: Any) -> httpx.Response:
    return await asyncio.to_thread(http.post, path, **kwargs)


async def get(http: httpx.Client, path: str, **kwargs: Any) -> httpx.Response:
    return await asyncio.to_thread(http.get, path, **kwargs)


async def send(
    http: httpx.Client, ws: dict[str, Any], agent_id: str, body: dict[str, Any], **extra: str
) -> httpx.Response:
    return await post(
        http, f"/v1/agents/{agent_id}/command", json=body, headers={**headers(ws), **extra}
    )


async def command(
    http: httpx.Client, ws: dict[str, Any], agent_id: str, command_id: str
) -> dict[str, Any]:
    response = await get(http, f"/v1/agents/{agent_id}/commands/{command_id}", headers=headers(ws))
    assert response.status_code == 200, response.text
    return response.json()


async def audit_entries(
    http: httpx.Client, ws: dict[str, Any], agent_id: str
) -> list[dict[str, Any]]:
    response = await get(http, f"/v1/agents/{agent_id}/audit-logs", headers=headers(ws))
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["logs"]
    return entries


@dataclass
class ChannelAgent:
    """An agent's channel: records hub messages and acknowledges them (unless told to drop)."""

    client: AgentClient
    agent_id: str
    received: list[HubMessage] = field(default_factory=list)
    arrived: dict[str, float] = field(default_factory=dict)
    # How many of the next hub messages go unanswered (the hub's request times out).
    drop: int = 0

    async def on_message(self, msg: Msg) -> None:
        hub = HubMessage.model_validate_json(msg.data)
        self.received.append(hub)
        self.arrived.setdefault(hub.id, time.monotonic())
        if self.drop > 0:
            self.drop -= 1
            return
        await msg.respond(ChannelAck(message_id=hub.id).model_dump_json().encode())

    async def hello(self) -> dict[str, Any]:
        subject = AgentChannel.from_agent(self.agent_id, AgentChannel.HELLO)
        reply = await self.client.nc.request(subject, b'{"agent_version": "1.0.0"}', timeout=5)
        parsed = Reply.model_validate_json(reply.data)
        assert parsed.ok and parsed.data is not None, parsed
        return parsed.data

    async def result(self, command_id: str, outcome: str, result: dict[str, Any]) -> None:
        body = {
            "command_id": command_id,
            "outcome": outcome,
            "result": result,
            "error": None if outcome == "succeeded" else "it broke",
            "finished_at": datetime.now(UTC).isoformat(),
        }
        subject = AgentChannel.from_agent(self.agent_id, AgentChannel.RESULT)
        await self.client.nc.publish(subject, json.dumps(body).encode())
        await self.client.nc.flush()


async def connect_test_agent(nats_url: str, agent_id: str, password: str) -> ChannelAgent:
    """The one place the command tests connect an agent to NATS: user = its id, password =
    its own credential (seed 000 token, seed 003 API key, seed 002 JWT), its inbox subscribed."""
    client = await connect_agent(nats_url, agent_id, password)
    agent = ChannelAgent(client, agent_id)
    await client.nc.subscribe(AgentChannel.inbox(agent_id), cb=agent.on_message)
    await client.nc.flush()
    return agent
