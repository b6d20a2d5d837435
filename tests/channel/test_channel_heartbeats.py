"""Channel heartbeats against the whole system: over NATS and over the WebSocket, every dialect;
unknown agents refused; system metrics kept on the telemetry channel."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from tests.channel.sockets import MAKERS, agent_headers, frame, service_client, ws_url
from tests.nats_auth.agents import request_when_ready
from websockets.asyncio.client import connect

from agentplane.contracts.liveness import TelemetryList, TelemetryQuery
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import AgentChannel, Heartbeat
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


@pytest.fixture
async def service(system: RunningSystem) -> AsyncIterator[Client]:
    nc = await service_client(system)
    yield nc
    await nc.close()


def online_ids(http: httpx.Client, workspace: dict[str, Any]) -> set[str]:
    response = http.get("/v1/agents/online", headers={"x-api-key": workspace["apiKey"]})
    assert response.status_code == 200, response.text
    return {a["id"] for a in response.json()}


async def channel_beat(nc: Client, agent_id: str, body: bytes) -> Reply:
    subject = AgentChannel.from_agent(agent_id, AgentChannel.HEARTBEAT)
    return Reply.model_validate_json(await request_when_ready(nc, subject, body))


@pytest.mark.parametrize("kind", sorted(MAKERS))
async def test_a_channel_beat_brings_an_agent_of_every_dialect_online(
    http: httpx.Client, workspace: dict[str, Any], service: Client, kind: str
) -> None:
    agent_id, _ = MAKERS[kind](http, workspace)
    assert agent_id not in await asyncio.to_thread(online_ids, http, workspace)
    system_metrics = {"cpu_percent": 3.5, "memory_mb": 512}
    body = json.dumps({"status": "busy", "system": system_metrics}).encode()
    reply = await channel_beat(service, agent_id, body)
    assert reply.ok and reply.data is not None, reply
    assert reply.data["agent_id"] == agent_id
    assert agent_id in await asyncio.to_thread(online_ids, http, workspace)

    query = TelemetryQuery(agent_id=uuid.UUID(agent_id), kind="heartbeat", limit=1)
    msg = await service.request(Heartbeat.TELEMETRY_RECENT, query.model_dump_json().encode(), 5)
    reply = Reply.model_validate_json(msg.data)
    entries = TelemetryList.model_validate(reply.data).entries
    assert entries and entries[0].data == {
        "status": "busy",
        "system": system_metrics,
        "via": "channel",
    }


async def test_a_beat_of_an_unknown_agent_is_refused(
    http: httpx.Client, workspace: dict[str, Any], service: Client
) -> None:
    stranger = str(uuid.uuid4())
    for _ in range(3):  # the second and third come from the remembered answer
        reply = await channel_beat(service, stranger, b'{"status": "idle"}')
        assert not reply.ok and reply.error is not None
        assert reply.error.kind == "not_found"
    # A deleted agent is unknown from then on (the registry's event forgets the cached answer).
    agent_id, _ = MAKERS["seed002-jwt"](http, workspace)
    assert (await channel_beat(service, agent_id, b"{}")).ok
    response = await asyncio.to_thread(
        http.delete, f"/api/v1/agents/{agent_id}", headers={"x-api-key": workspace["apiKey"]}
    )
    assert response.status_code == 200, response.text
    for _ in range(50):
        reply = await channel_beat(service, agent_id, b"{}")
        if not reply.ok:
            break
        await asyncio.sleep(0.1)
    assert not reply.ok and reply.error is not None and reply.error.kind == "not_found"


async def test_invalid_channel_beats_get_error_replies(service: Client) -> None:
    agent = str(uuid.uuid4())
    invalid = await channel_beat(service, agent, b"[1, 2]")
    assert not invalid.ok and invalid.error is not None and invalid.error.kind == "validation"
    too_large = await channel_beat(service, agent, b'{"system": "' + b"x" * 20_000 + b'"}')
    assert not too_large.ok and too_large.error is not None
    assert too_large.error.kind == "too_large"
    not_an_id = await channel_beat(service, "nobody", b"{}")
    assert not not_an_id.ok


@pytest.mark.parametrize("kind", sorted(MAKERS))
async def test_a_websocket_hb_frame_brings_the_agent_online(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any], kind: str
) -> None:
    agent_id, credential = MAKERS[kind](http, workspace)
    async with connect(
        ws_url(system, agent_id), additional_headers=agent_headers(agent_id, credential)
    ) as ws:
        await ws.send(json.dumps({"type": "hb", "data": {"status": "idle"}}))
        got = await frame(ws)
        assert got["type"] == "hb", got
        assert got["data"]["agent_id"] == agent_id
        assert agent_id in await asyncio.to_thread(online_ids, http, workspace)
