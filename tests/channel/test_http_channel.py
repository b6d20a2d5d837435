"""The agent channel over HTTP: discovery and the WebSocket, for every credential kind."""

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
from nats.aio.msg import Msg
from tests.channel.sockets import MAKERS, agent_headers, frame, service_client, ws_url
from tests.nats_auth.agents import request_when_ready, seed000_agent
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from agentplane.contracts.channel import ChannelAck, HubKind, HubMessage
from agentplane.contracts.subjects import AgentChannel
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


@pytest.fixture
async def service(system: RunningSystem) -> AsyncIterator[Client]:
    nc = await service_client(system)
    yield nc
    await nc.close()


def hub_message(kind: HubKind = HubKind.CONFIG) -> HubMessage:
    return HubMessage(
        id=f"msg-{time.monotonic_ns()}",
        kind=kind,
        sent_at=datetime.now(UTC),
        body={"heartbeat_interval_seconds": 15},
    )


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_discovery_for_every_credential(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any], kind: str
) -> None:
    agent_id, credential = MAKERS[kind](http, workspace)
    response = http.get("/v1/agent-channel", headers=agent_headers(agent_id, credential))
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["agentId"] == agent_id
    assert info["natsUrls"] == [system.nats_url]
    assert "@" not in info["natsUrls"][0]
    assert info["natsWebsocketUrl"] is None
    assert info["httpChannelUrl"] == f"/v1/agents/{agent_id}/channel"
    assert info["inboxSubject"] == f"ap.inbox.{agent_id}"
    assert info["replyInboxPrefix"] == f"_INBOX_{agent_id}"
    assert info["publishPrefix"] == f"ap.agent.{agent_id}"
    assert info["heartbeatIntervalSeconds"] == 30


def test_discovery_refuses_bad_credentials(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, token = seed000_agent(http, workspace)
    other_id, _ = seed000_agent(http, workspace)
    for headers in (
        {},
        {"X-Agent-ID": agent_id},
        agent_headers(agent_id, token + "x"),
        agent_headers(other_id, token),
        agent_headers("not-a-uuid", token),
        {"X-Agent-ID": agent_id, "X-Agent-Key": "ap_nope"},
    ):
        response = http.get("/v1/agent-channel", headers=headers)
        assert response.status_code == 401, (headers.keys(), response.text)
        assert response.json()["kind"] == "unauthorized"
    # The device dialect's own header works too.
    response = http.get("/v1/agent-channel", headers={"X-Agent-ID": agent_id, "X-Agent-Key": token})
    assert response.status_code == 200


@pytest.mark.parametrize("kind", sorted(MAKERS))
async def test_hub_message_reaches_socket_and_ack_reaches_sender(
    system: RunningSystem,
    http: httpx.Client,
    workspace: dict[str, Any],
    service: Client,
    kind: str,
) -> None:
    agent_id, credential = MAKERS[kind](http, workspace)
    async with connect(
        ws_url(system, agent_id), additional_headers=agent_headers(agent_id, credential)
    ) as ws:
        message = hub_message()
        sender = asyncio.create_task(
            request_when_ready(
                service, AgentChannel.inbox(agent_id), message.model_dump_json().encode()
            )
        )
        got = await frame(ws)
        assert got["type"] == "hub"
        assert HubMessage.model_validate(got["data"]) == message
        await ws.send(json.dumps({"type": "ack", "data": {"message_id": message.id}}))
        ack = ChannelAck.model_validate_json(await asyncio.wait_for(sender, 5))
        assert ack.message_id == message.id and ack.accepted


async def test_refused_sockets(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    other_id, _ = seed000_agent(http, workspace)
    cases = [
        (agent_id, agent_headers(agent_id, token + "x"), 4401),
        (agent_id, {}, 4401),
        (other_id, agent_headers(agent_id, token), 4403),
    ]
    for path_id, headers, code in cases:
        async with connect(ws_url(system, path_id), additional_headers=headers) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code


async def test_hello_result_and_errors_are_forwarded(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any], service: Client
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    results: asyncio.Queue[Msg] = asyncio.Queue()
    await service.subscribe(AgentChannel.from_agent(agent_id, AgentChannel.RESULT), cb=results.put)
    logs: asyncio.Queue[Msg] = asyncio.Queue()
    await service.subscribe(AgentChannel.from_agent(agent_id, AgentChannel.TASK_LOG), cb=logs.put)
    # The messaging service answers hello; this subscriber only watches what was forwarded.
    hellos: list[bytes] = []
    hello_seen = asyncio.Event()

    async def watch_hello(msg: Msg) -> None:
        hellos.append(msg.data)
        hello_seen.set()

    await service.subscribe(AgentChannel.from_agent(agent_id, AgentChannel.HELLO), cb=watch_hello)
    await service.flush()
    async with connect(
        ws_url(system, agent_id), additional_headers=agent_headers(agent_id, token)
    ) as ws:
        await ws.send(json.dumps({"type": "hello", "data": {"agent_version": "1.2.3"}}))
        got = await frame(ws)
        assert got == {
            "type": "welcome",
            "data": {"agent_id": agent_id, "heartbeat_interval_seconds": 30.0, "pending": 0},
        }
        await asyncio.wait_for(hello_seen.wait(), 5)
        assert json.loads(hellos[0])["agent_version"] == "1.2.3"

        result = {
            "command_id": "cmd_1",
            "outcome": "succeeded",
            "result": {"state": "ok"},
            "finished_at": datetime.now(UTC).isoformat(),
        }
        await ws.send(json.dumps({"type": "result", "data": result}))
        published = await asyncio.wait_for(results.get(), 5)
        assert json.loads(published.data)["command_id"] == "cmd_1"

        line = {
            "task_id": "t1",
            "seq": 0,
            "stream": "stdout",
            "line": "hi",
            "at": result["finished_at"],
        }
        await ws.send(json.dumps({"type": "task.log", "data": line}))
        assert json.loads((await asyncio.wait_for(logs.get(), 5)).data)["line"] == "hi"
        await ws.send(json.dumps({"type": "task.log", "data": {"task_id": "t1"}}))
        assert (await frame(ws))["type"] == "error"

        await ws.send("not json")
        assert (await frame(ws))["type"] == "error"
        await ws.send(json.dumps({"type": "result", "data": {"command_id": "x"}}))
        error = await frame(ws)
        assert error["type"] == "error" and "outcome" in error["data"]["message"]
        await ws.send(json.dumps({"type": "welcome", "data": {}}))
        assert (await frame(ws))["type"] == "error"
        await ws.send(json.dumps({"type": "ack", "data": {"message_id": "x" * 10}}))
        # An ack of nothing pending changes nothing; the socket still works.
        await ws.send(json.dumps({"type": "hb", "data": {"status": "idle"}}))
        beat = await frame(ws)
        assert beat["type"] == "hb" and beat["data"]["agent_id"] == agent_id
