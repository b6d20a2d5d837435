"""Two heartbeat replicas, each owning one of two partitions (crc32(agent id) % 2).

The launcher's replica owns partition 0; the test starts a second one for partition 1 on the
same NATS and data dir. Beats published on the partition-blind subject, or sent through the
gateway, reach the owner; lists answer for agents of every partition; restarting one replica
marks none of its agents offline.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from tests.heartbeat.helpers import beat, register

from agentplane.contracts.liveness import HeartbeatStats, partition_of
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import Events, Heartbeat
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

ENV = {
    "AGENTPLANE_HEARTBEAT_PARTITIONS": "2",
    "AGENTPLANE_HEARTBEAT_PARTITION": "0",
    "AGENTPLANE_HEARTBEAT_INTERVAL_SECONDS": "1",
    "AGENTPLANE_HEARTBEAT_MISSED_BEATS": "3",
    "AGENTPLANE_LIVENESS_GRACE_SECONDS": "1",
}


@pytest.fixture(scope="module")
def partitioned(system_factory: Callable[..., RunningSystem]) -> RunningSystem:
    return system_factory(env=ENV)


def start_replica(system: RunningSystem, partition: int) -> subprocess.Popen[bytes]:
    env = system.env() | ENV
    env.update(
        NATS_URL=system.nats_url,
        AGENTPLANE_HEARTBEAT_PARTITION=str(partition),
        AGENTPLANE_LOG_LEVEL="WARNING",
    )
    return subprocess.Popen([sys.executable, "-m", "agentplane.heartbeat"], env=env)


@pytest.fixture(scope="module")
def replica(partitioned: RunningSystem) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [start_replica(partitioned, 1)]
    yield procs
    for proc in procs:
        proc.terminate()
        proc.wait(15)


@pytest.fixture
async def nc(partitioned: RunningSystem) -> AsyncIterator[Client]:
    client = await partitioned.nats_connect()
    yield client
    await client.close()


async def all_stats(nc: Client, wait: float = 0.5) -> dict[int, HeartbeatStats]:
    """Every replica answers the stats subject; keyed by the (single) partition it owns."""
    inbox = nc.new_inbox()
    answers: list[HeartbeatStats] = []

    async def collect(msg: Msg) -> None:
        answers.append(HeartbeatStats.model_validate(Reply.model_validate_json(msg.data).data))

    sub = await nc.subscribe(inbox, cb=collect)
    await nc.publish(Heartbeat.STATS, b"{}", reply=inbox)
    await asyncio.sleep(wait)
    await sub.unsubscribe()
    return {s.partitions[0]: s for s in answers}


async def both_replicas(nc: Client, timeout: float = 30) -> dict[int, HeartbeatStats]:
    deadline = time.monotonic() + timeout
    while True:
        found = await all_stats(nc)
        if set(found) == {0, 1}:
            return found
        assert time.monotonic() < deadline, f"replicas answering: {found}"


async def test_each_replica_owns_its_partition_and_lists_see_all(
    partitioned: RunningSystem, replica: list[subprocess.Popen[bytes]], nc: Client
) -> None:
    await both_replicas(nc)
    with httpx.Client(base_url=partitioned.base_url, timeout=30) as client:
        workspace = create_workspace(client, partitioned.admin_token)
    async with httpx.AsyncClient(base_url=partitioned.base_url, timeout=30) as web:
        agents = [await register(web, workspace) for _ in range(24)]
        owner = {agent_id: partition_of(agent_id, 2) for agent_id, _ in agents}
        assert set(owner.values()) == {0, 1}
        before = await all_stats(nc)
        # Half beat over NATS on the partition-blind subject, half through the gateway.
        for i, (agent_id, token) in enumerate(agents):
            if i % 2:
                assert (await beat(nc, agent_id, {"token": token})).ok
            else:
                response = await web.post(
                    "/v1/agents/heartbeat", json={"agentId": agent_id, "token": token}
                )
                assert response.status_code == 200, response.text
        listed = await list_agents(web, workspace)
        assert all(listed[agent_id]["isOnline"] for agent_id, _ in agents)
        after = await all_stats(nc)
        for partition in (0, 1):
            owned = sum(1 for p in owner.values() if p == partition)
            assert after[partition].accepted - before[partition].accepted == owned
        assert sum(s.forwarded - before[p].forwarded for p, s in after.items()) > 0

        # A restart of replica 1 while the agents keep beating: nobody goes offline.
        offline: list[str] = []

        async def on_offline(msg: Msg) -> None:
            offline.append(json.loads(msg.data)["agent_id"])

        sub = await nc.subscribe(Events.subject("heartbeat", "liveness.WentOffline"), cb=on_offline)
        beating = True

        async def keep_beating() -> None:
            while beating:
                for agent_id, token in agents:
                    body = json.dumps({"token": token}).encode()
                    await nc.publish(Heartbeat.native(agent_id), body)
                await asyncio.sleep(0.5)

        fleet = asyncio.create_task(keep_beating())
        try:
            await asyncio.sleep(3)  # a checkpoint of replica 1's agents
            replica[0].terminate()
            replica[0].wait(15)
            replica[0] = start_replica(partitioned, 1)
            await both_replicas(nc)
            await asyncio.sleep(3 * 1 + 1 + 3)  # interval * missed + grace + margin
        finally:
            beating = False
            await fleet
        await sub.unsubscribe()
        assert offline == []
        listed = await list_agents(web, workspace)
        assert all(listed[agent_id]["isOnline"] for agent_id, _ in agents)


async def list_agents(web: httpx.AsyncClient, workspace: dict[str, Any]) -> dict[str, Any]:
    response = await web.get("/v1/agents", headers={"x-api-key": workspace["apiKey"]})
    assert response.status_code == 200, response.text
    return {a["id"]: a for a in response.json()}
