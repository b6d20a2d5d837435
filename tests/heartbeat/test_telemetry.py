"""The telemetry channel: a capped JetStream stream per agent, off the control path."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from tests.heartbeat.helpers import beat, register, stats

from agentplane.contracts.liveness import (
    BeatRecorded,
    RecordBeat,
    TelemetryList,
    TelemetryQuery,
)
from agentplane.contracts.reply import Reply
from agentplane.contracts.streams import TELEMETRY_PER_AGENT, TELEMETRY_STREAM
from agentplane.contracts.subjects import Events, Heartbeat, Telemetry
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


# Offline decisions start one interval plus grace after the service starts: short here.
FAST = {
    "AGENTPLANE_HEARTBEAT_INTERVAL_SECONDS": "1",
    "AGENTPLANE_HEARTBEAT_MISSED_BEATS": "2",
    "AGENTPLANE_LIVENESS_GRACE_SECONDS": "1",
}


@pytest.fixture(scope="module")
def fast(system_factory: Callable[..., RunningSystem]) -> RunningSystem:
    started = system_factory(env=FAST)
    time.sleep(3)  # past the startup grace: offline decisions are live
    return started


@pytest.fixture
async def nc(fast: RunningSystem) -> AsyncIterator[Client]:
    client = await fast.nats_connect()
    yield client
    await client.close()


@pytest.fixture
async def web(fast: RunningSystem) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fast.base_url, timeout=30) as client:
        yield client


@pytest.fixture
async def fast_workspace(fast: RunningSystem) -> dict[str, Any]:
    with httpx.Client(base_url=fast.base_url, timeout=30) as client:
        return create_workspace(client, fast.admin_token)


async def went_offline(nc: Client) -> tuple[list[str], Any]:
    """Agent ids of every liveness.WentOffline event from now on, and the subscription."""
    seen: list[str] = []

    async def on_offline(msg: Msg) -> None:
        seen.append(json.loads(msg.data)["agent_id"])

    sub = await nc.subscribe(Events.subject("heartbeat", "liveness.WentOffline"), cb=on_offline)
    return seen, sub


async def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def recent(nc: Client, agent_id: str, kind: str, limit: int) -> list[dict[str, Any]]:
    query = TelemetryQuery(agent_id=uuid.UUID(agent_id), kind=kind, limit=limit)
    msg = await nc.request(Heartbeat.TELEMETRY_RECENT, query.model_dump_json().encode(), 10)
    reply = Reply.model_validate_json(msg.data)
    assert reply.ok, reply
    return [e.data for e in TelemetryList.model_validate(reply.data).entries]


async def record(nc: Client, cmd: RecordBeat) -> BeatRecorded:
    msg = await nc.request(Heartbeat.RECORD, cmd.model_dump_json().encode(), 5)
    reply = Reply.model_validate_json(msg.data)
    assert reply.ok, reply
    return BeatRecorded.model_validate(reply.data)


async def test_the_stream_keeps_the_newest_1000_messages_per_agent(nc: Client) -> None:
    info = await nc.jetstream().stream_info(TELEMETRY_STREAM)
    assert info.config.max_msgs_per_subject == TELEMETRY_PER_AGENT == 1000
    assert info.config.subjects == [Telemetry.ALL]
    agent_id, neighbour = str(uuid.uuid4()), str(uuid.uuid4())
    for n in range(1050):
        await nc.publish(
            Telemetry.subject(Telemetry.METRICS, agent_id), json.dumps({"n": n}).encode()
        )
    for n in range(5):
        await nc.publish(
            Telemetry.subject(Telemetry.METRICS, neighbour), json.dumps({"n": n}).encode()
        )
    await nc.flush()
    await asyncio.sleep(0.3)
    kept = await recent(nc, agent_id, "metrics", 1000)
    assert [m["n"] for m in kept] == list(range(1049, 49, -1))
    assert [m["n"] for m in await recent(nc, agent_id, "metrics", 10)] == list(
        range(1049, 1039, -1)
    )
    # Another agent's limit is its own; unknown agents and kinds have no telemetry.
    assert [m["n"] for m in await recent(nc, neighbour, "metrics", 10)] == [4, 3, 2, 1, 0]
    assert await recent(nc, str(uuid.uuid4()), "metrics", 10) == []
    assert await recent(nc, agent_id, "heartbeat", 10) == []


async def test_recorded_beats_set_the_interval_and_report_transitions(nc: Client) -> None:
    agent_id = str(uuid.uuid4())
    offline, sub = await went_offline(nc)
    cmd = RecordBeat(
        agent_id=uuid.UUID(agent_id),
        offline_after_seconds=1.0,
        telemetry={"mode": "EMERGENCY", "uptime_seconds": 1},
    )
    assert (await record(nc, cmd)).came_online
    assert not (await record(nc, cmd)).came_online
    assert await wait_for(lambda: agent_id in offline, 5)
    assert (await record(nc, RecordBeat(agent_id=uuid.UUID(agent_id)))).came_online
    await sub.unsubscribe()
    assert (await recent(nc, agent_id, "heartbeat", 10))[-1] == {
        "mode": "EMERGENCY",
        "uptime_seconds": 1,
    }


async def test_a_metrics_flood_does_not_starve_heartbeats(
    nc: Client, web: httpx.AsyncClient, fast_workspace: dict[str, Any]
) -> None:
    """The agent beats every 0.25 s with a 1.5 s deadline while metrics of 200 agents (its own
    included) arrive for 6 s at ~10,000/s: normal is one metrics message per heartbeat, so
    this is far beyond ten times its rate. It stays online, its metrics stay capped, and a
    control agent that stopped beating is marked offline meanwhile (decisions are live)."""
    agent_id, token = await register(web, fast_workspace)
    control = str(uuid.uuid4())
    offline, sub = await went_offline(nc)
    assert (await beat(nc, agent_id, {"token": token})).ok
    await record(nc, RecordBeat(agent_id=uuid.UUID(agent_id), offline_after_seconds=1.5))
    await record(nc, RecordBeat(agent_id=uuid.UUID(control), offline_after_seconds=1.5))
    flooders = [agent_id] + [str(uuid.uuid4()) for _ in range(199)]
    subjects = [Telemetry.subject(Telemetry.METRICS, a) for a in flooders]
    body = json.dumps({"cpu_percent": 50.0, "memory_mb": 512, "requests_handled": 1}).encode()
    flooding = True

    async def flood() -> int:
        sent = 0
        started = time.monotonic()
        while flooding:
            due = int((time.monotonic() - started) * 10_000)
            while sent < due:
                await nc.publish(subjects[sent % len(subjects)], body)
                sent += 1
            await asyncio.sleep(0.01)
        return sent

    flooder = asyncio.create_task(flood())
    try:
        until = time.monotonic() + 6
        while time.monotonic() < until:
            reply = await beat(nc, agent_id, {"token": token})
            assert reply.ok, reply
            await asyncio.sleep(0.25)
    finally:
        flooding = False
        sent = await flooder
    await asyncio.sleep(0.5)
    await sub.unsubscribe()
    assert sent > 40_000
    assert agent_id not in offline, "the agent was marked offline during the flood"
    assert control in offline
    assert (await stats(nc)).online >= 1
    assert len(await recent(nc, agent_id, "metrics", 1000)) <= TELEMETRY_PER_AGENT
