"""An admitted agent may use its own subjects and nothing else (least privilege)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from tests.nats_auth.agents import (
    AgentClient,
    connect_agent,
    eventually,
    request_when_ready,
    seed000_agent,
)

from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import AgentChannel, Registry
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


@pytest.fixture
async def service(system: RunningSystem) -> AsyncIterator[Client]:
    nc = await system.nats_connect()
    yield nc
    await nc.close()


@pytest.fixture
async def agent(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> AsyncIterator[tuple[str, AgentClient]]:
    agent_id, token = seed000_agent(http, workspace)
    client = await connect_agent(system.nats_url, agent_id, token)
    yield agent_id, client
    await client.nc.close()


async def test_the_agent_publishes_on_its_own_subjects(
    service: Client, agent: tuple[str, AgentClient]
) -> None:
    agent_id, client = agent
    received: list[Msg] = []

    async def collect(msg: Msg) -> None:
        received.append(msg)

    await service.subscribe(AgentChannel.from_agent(agent_id, ">"), cb=collect)
    await service.flush()
    subject = AgentChannel.from_agent(agent_id, "x")
    await client.nc.publish(subject, b"hello")
    await client.nc.flush()
    assert await eventually(lambda: bool(received), 30.0)
    assert (received[0].subject, received[0].data) == (subject, b"hello")
    assert client.errors == []


async def test_the_agent_receives_on_its_inbox_and_replies(
    service: Client, agent: tuple[str, AgentClient]
) -> None:
    agent_id, client = agent

    async def acknowledge(msg: Msg) -> None:
        await msg.respond(b"ack:" + msg.data)

    await client.nc.subscribe(AgentChannel.inbox(agent_id), cb=acknowledge)
    await client.nc.flush()
    assert await request_when_ready(service, AgentChannel.inbox(agent_id), b"cmd-1") == (
        b"ack:cmd-1"
    )
    assert client.errors == []


async def test_the_agent_asks_the_hub_through_its_own_reply_inbox(
    service: Client, agent: tuple[str, AgentClient]
) -> None:
    agent_id, client = agent

    async def welcome(msg: Msg) -> None:
        await msg.respond(b"welcome " + AgentChannel.agent_of(msg.subject).encode())

    # A subject of the agent's own that no hub service answers (the messaging service
    # answers `hello`): only this test's responder replies.
    subject = AgentChannel.from_agent(agent_id, "permissions-test")
    await service.subscribe(subject, cb=welcome)
    await service.flush()
    reply = await request_when_ready(client.nc, subject, b"{}")
    assert reply == b"welcome " + agent_id.encode()


async def test_publishing_to_a_registry_subject_is_denied(
    service: Client, agent: tuple[str, AgentClient]
) -> None:
    _, client = agent
    marker = uuid.uuid4().hex.encode()
    leaked: list[Msg] = []

    async def watch(msg: Msg) -> None:
        if msg.data == marker:
            leaked.append(msg)

    await service.subscribe(Registry.AGENT_LIST, cb=watch)
    await service.flush()
    await client.nc.publish(Registry.AGENT_LIST, marker)
    await client.nc.flush()
    violations = await client.violations(1)
    assert violations and Registry.AGENT_LIST in violations[0]
    await asyncio.sleep(0.2)
    assert leaked == []
    # A permission violation is reported, the connection stays.
    assert client.nc.is_connected


async def test_another_agents_inbox_is_not_readable(
    service: Client, agent: tuple[str, AgentClient]
) -> None:
    _, client = agent
    other = str(uuid.uuid4())
    received: list[Msg] = []

    async def collect(msg: Msg) -> None:
        received.append(msg)

    await client.nc.subscribe(AgentChannel.inbox(other), cb=collect)
    await client.nc.flush()
    violations = await client.violations(1)
    assert violations and AgentChannel.inbox(other) in violations[0]
    await service.publish(AgentChannel.inbox(other), b"for the other agent")
    await service.flush()
    await asyncio.sleep(0.2)
    assert received == []


async def test_every_clients_replies_are_not_readable(
    service: Client, agent: tuple[str, AgentClient]
) -> None:
    _, client = agent
    received: list[Msg] = []

    async def collect(msg: Msg) -> None:
        received.append(msg)

    await client.nc.subscribe("_INBOX.>", cb=collect)
    await client.nc.subscribe(f"{AgentChannel.reply_inbox_prefix(str(uuid.uuid4()))}.>")
    await client.nc.flush()
    assert len(await client.violations(2)) == 2
    await service.publish("_INBOX.someone.else", b"a reply")
    await service.flush()
    await asyncio.sleep(0.2)
    assert received == []


async def test_jetstream_api_is_denied_and_the_stream_survives(
    service: Client, agent: tuple[str, AgentClient]
) -> None:
    _, client = agent
    await client.nc.publish(f"$JS.API.STREAM.DELETE.{EVENTS_STREAM}", b"")
    await client.nc.flush()
    violations = await client.violations(1)
    assert violations and "$js.api.stream.delete" in violations[0].lower()
    await asyncio.sleep(0.2)
    info = await service.jetstream().stream_info(EVENTS_STREAM)
    assert info.config.name == EVENTS_STREAM
    # Reading the stream through the API is no more allowed than deleting it.
    with pytest.raises((NatsTimeout, NatsError)):  # no answer: the request never got out
        await client.nc.jetstream(timeout=1).stream_info(EVENTS_STREAM)
