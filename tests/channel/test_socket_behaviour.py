"""The WebSocket channel's edges: two sockets of one agent, cleanup on close, frame bounds,
a plain GET, and the OpenAPI document."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from tests.channel.sockets import agent_headers, frame, service_client, ws_url
from tests.nats_auth.agents import request_when_ready, seed000_agent
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from agentplane.contracts.channel import ChannelAck, HubKind, HubMessage
from agentplane.contracts.subjects import AgentChannel
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

MAX_FRAME_BYTES = 512 * 1024


@pytest.fixture
async def service(system: RunningSystem) -> AsyncIterator[Client]:
    nc = await service_client(system)
    yield nc
    await nc.close()


def hub_message() -> HubMessage:
    return HubMessage(
        id=f"msg-{time.monotonic_ns()}", kind=HubKind.DRAIN, sent_at=datetime.now(UTC), body={}
    )


async def test_two_sockets_both_receive_and_the_first_ack_answers(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any], service: Client
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    headers = agent_headers(agent_id, token)
    async with (
        connect(ws_url(system, agent_id), additional_headers=headers) as first,
        connect(ws_url(system, agent_id), additional_headers=headers) as second,
    ):
        # A socket that answered a frame has subscribed (the gateway subscribes first).
        for ws in (first, second):
            await ws.send(json.dumps({"type": "hb", "data": {}}))
            assert (await frame(ws))["type"] == "hb"
        message = hub_message()
        sender = asyncio.create_task(
            service.request(AgentChannel.inbox(agent_id), message.model_dump_json().encode(), 5)
        )
        for ws in (first, second):
            got = await frame(ws)
            assert got["type"] == "hub" and got["data"]["id"] == message.id
        refusal = {"type": "ack", "data": {"message_id": message.id, "accepted": False}}
        await second.send(json.dumps(refusal))
        ack = ChannelAck.model_validate_json((await asyncio.wait_for(sender, 5)).data)
        assert ack.message_id == message.id and ack.accepted is False
        # The later ack of the other socket goes nowhere and breaks nothing.
        await first.send(json.dumps({"type": "ack", "data": {"message_id": message.id}}))
        await first.send(json.dumps({"type": "hb", "data": {}}))
        assert (await frame(first))["type"] == "hb"


async def test_closing_the_socket_ends_its_subscription(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any], service: Client
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    inbox = AgentChannel.inbox(agent_id)
    async with connect(
        ws_url(system, agent_id), additional_headers=agent_headers(agent_id, token)
    ) as ws:
        sender = asyncio.create_task(
            request_when_ready(service, inbox, hub_message().model_dump_json().encode())
        )
        got = await frame(ws)
        await ws.send(json.dumps({"type": "ack", "data": {"message_id": got["data"]["id"]}}))
        await asyncio.wait_for(sender, 5)
    deadline = time.monotonic() + 5
    while True:
        try:
            await service.request(inbox, hub_message().model_dump_json().encode(), timeout=0.5)
        except NoRespondersError:
            break  # nobody listens on the agent's inbox any more
        except NatsTimeout:
            pass  # the gateway's subscription was still there; the frame went nowhere
        assert time.monotonic() < deadline, "the inbox subscription outlived the socket"
        await asyncio.sleep(0.1)


async def test_frame_bounds(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    async with connect(
        ws_url(system, agent_id),
        additional_headers=agent_headers(agent_id, token),
        max_size=None,
    ) as ws:
        padding = "x" * (MAX_FRAME_BYTES + 10)
        await ws.send(json.dumps({"type": "hb", "data": {"status": "idle", "pad": padding}}))
        error = await frame(ws)
        assert error["type"] == "error" and "larger than" in error["data"]["message"]
        await ws.send(json.dumps({"type": "hb", "data": {"status": "idle"}}))
        assert (await frame(ws))["type"] == "hb"
        # Beyond twice the bound the server refuses the message itself (close 1009).
        await ws.send("y" * (2 * MAX_FRAME_BYTES + 10))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_a_plain_get_of_the_channel(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, token = seed000_agent(http, workspace)
    other_id, _ = seed000_agent(http, workspace)
    url = f"/v1/agents/{agent_id}/channel"
    assert http.get(url).status_code == 401
    assert http.get(url, headers=agent_headers(agent_id, token + "x")).status_code == 401
    forbidden = http.get(f"/v1/agents/{other_id}/channel", headers=agent_headers(agent_id, token))
    assert forbidden.status_code == 403 and forbidden.json()["kind"] == "forbidden"
    response = http.get(url, headers=agent_headers(agent_id, token))
    assert response.status_code == 426 and response.headers["upgrade"] == "websocket"
    assert "WebSocket" in response.json()["error"]


def test_both_endpoints_are_in_openapi(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    discovery = paths["/v1/agent-channel"]["get"]
    channel = paths["/v1/agents/{agent_id}/channel"]["get"]
    assert {"200", "401", "503"} <= set(discovery["responses"])
    assert {"101", "401", "403", "426"} <= set(channel["responses"])
    schemes = {name for requirement in discovery["security"] for name in requirement}
    assert schemes == {"AgentId", "AgentKey", "AgentBearer"}
