"""`ChannelBeats` on a real NATS server: the registry is asked once per agent, its dialect sets
the deadline, a registry event forgets the answer, an unknown agent gets an error reply.

A test responder stands in for the registry's `AGENT_DIALECT` (the whole-system tests in
tests/channel cover the real one), and another records the `RecordBeat`s the beats become.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from agentplane.bus.requests import BusClient
from agentplane.contracts.commands import AgentDialect, AgentDialectQuery
from agentplane.contracts.errors import ErrorBody, ErrorKind
from agentplane.contracts.liveness import RecordBeat
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import AgentChannel, Events, Heartbeat, Registry
from agentplane.heartbeat.channel_beats import ChannelBeats
from agentplane.heartbeat.invalidations import follow_registry_events
from agentplane.testing.nats import NatsServer

INTERVALS = {"device": 10.0, "orchestrator": 20.0}


def deadline_of(dialect: str) -> float:
    return INTERVALS.get(dialect, 30.0) * 3


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:
    client = await nats.connect(nats_server.url)
    yield client
    await client.close()


async def test_deadlines_by_dialect_and_one_registry_question_per_agent(nc: Client) -> None:
    device, orchestrator, stranger = (str(uuid.uuid4()) for _ in range(3))
    dialects = {device: "device", orchestrator: "orchestrator"}
    asked: list[str] = []

    async def registry(msg: Msg) -> None:
        query = AgentDialectQuery.model_validate_json(msg.data)
        agent_id = str(query.agent_id)
        asked.append(agent_id)
        await asyncio.sleep(0.05)  # beats arriving meanwhile must share this answer
        if agent_id in dialects:
            found = AgentDialect(
                agent_id=query.agent_id, workspace_id="w", dialect=dialects[agent_id]
            )
            reply = Reply.success(found)
        else:
            reply = Reply.failure(ErrorBody(kind=ErrorKind.NOT_FOUND, message="Agent not found"))
        await msg.respond(reply.model_dump_json().encode())

    recorded: list[RecordBeat] = []

    async def heartbeat(msg: Msg) -> None:
        recorded.append(RecordBeat.model_validate_json(msg.data))
        await msg.respond(
            Reply.success({"agent_id": str(recorded[-1].agent_id)}).model_dump_json().encode()
        )

    await nc.subscribe(Registry.AGENT_DIALECT, cb=registry)
    await nc.subscribe(Heartbeat.RECORD, cb=heartbeat)
    beats = ChannelBeats(nc, BusClient(nc, 2.0), deadline_of)
    await follow_registry_events(nc, beats.forget)  # as the service wires it (main.py)
    await beats.subscribe("heartbeat")
    await nc.flush()

    async def beat(agent_id: str) -> Reply:
        subject = AgentChannel.from_agent(agent_id, AgentChannel.HEARTBEAT)
        return Reply.model_validate_json((await nc.request(subject, b"{}", timeout=3)).data)

    replies = await asyncio.gather(*(beat(a) for a in [device] * 5 + [orchestrator] * 5))
    assert all(r.ok for r in replies)
    assert sorted(asked) == sorted([device, orchestrator])
    deadlines = {str(r.agent_id): r.offline_after_seconds for r in recorded}
    assert deadlines == {device: 30.0, orchestrator: 60.0}
    assert all(r.telemetry == {"status": "idle", "system": {}, "via": "channel"} for r in recorded)

    for _ in range(3):
        refused = await beat(stranger)
        assert not refused.ok and refused.error is not None
        assert refused.error.kind == ErrorKind.NOT_FOUND
    assert asked.count(stranger) == 1  # the absence is remembered briefly too

    # Any registry event of the agent (deletion, revocation, …) makes the next beat ask again.
    del dialects[device]
    event = json.dumps({"agent_id": device, "type": "agent.Deleted"}).encode()
    await nc.publish(Events.subject("registry", "agent.Deleted"), event)
    for _ in range(500):
        if not (await beat(device)).ok:
            break
        await asyncio.sleep(0.02)
    assert asked.count(device) == 2


async def test_an_unanswered_registry_is_an_unavailable_error(nc: Client) -> None:
    beats = ChannelBeats(nc, BusClient(nc, 0.3), deadline_of)
    await beats.subscribe("heartbeat")
    await nc.flush()
    subject = AgentChannel.from_agent(str(uuid.uuid4()), AgentChannel.HEARTBEAT)
    reply = Reply.model_validate_json((await nc.request(subject, b"{}", timeout=3)).data)
    assert not reply.ok and reply.error is not None
    assert reply.error.kind == ErrorKind.UNAVAILABLE
