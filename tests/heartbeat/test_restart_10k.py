"""A restart of the heartbeat service with 10,000 beating agents marks none of them offline.

The agents are registered with the registry and beat over NATS every 2 s (offline after 6 s). The
service is stopped (SIGTERM, then SIGKILL) and the launcher restarts it; its beats are lost
while it is down. It restores the table, its trusted tokens and their intervals, waits one
full interval plus grace from the moment it hears beats again before any offline decision,
and by then every agent beat again.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from tests.heartbeat.helpers import stats

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import RegisterAgent
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events, Heartbeat, Registry
from agentplane.heartbeat.invalidations import REPLAY_MARGIN_SECONDS
from agentplane.heartbeat.main import CHECKPOINT_SECONDS
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

AGENTS = 10_000
INTERVAL = 2.0
MISSED = 3
GRACE = 5.0
ENV = {
    "AGENTPLANE_HEARTBEAT_INTERVAL_SECONDS": str(INTERVAL),
    "AGENTPLANE_HEARTBEAT_MISSED_BEATS": str(MISSED),
    "AGENTPLANE_LIVENESS_GRACE_SECONDS": str(GRACE),
}


async def register_all(system: RunningSystem, count: int) -> list[tuple[str, str]]:
    """Registered through the registry's contract (what the HTTP route sends), for speed."""
    with httpx.Client(base_url=system.base_url, timeout=30) as client:
        workspace_id = create_workspace(client, system.admin_token)["workspaceId"]
    agents = [(uuid.uuid4(), "agent_tok_" + uuid.uuid4().hex) for _ in range(count)]
    pending = list(agents)
    nc = await system.nats_connect()
    bus = BusClient(nc, 60)

    async def worker() -> None:
        while pending:
            agent_id, token = pending.pop()
            await bus.request(
                Registry.AGENT_REGISTER,
                RegisterAgent(workspace_id=workspace_id, agent_id=agent_id, token=token),
            )

    try:
        await asyncio.gather(*(worker() for _ in range(32)))
    finally:
        await nc.close()
    return [(str(agent_id), token) for agent_id, token in agents]


async def events_settled(nc: Client, quiet_polls: int = 3) -> None:
    """Until the event stream has not grown for `quiet_polls` seconds in a row (one quiet
    second is not enough on a busy machine: the relay may just be between batches)."""
    js = nc.jetstream()
    last, quiet = -1, 0
    while quiet < quiet_polls:
        seq = (await js.stream_info(EVENTS_STREAM)).state.last_seq
        quiet = quiet + 1 if seq == last else 0
        last = seq
        await asyncio.sleep(1.0)


def heartbeat_log(system: RunningSystem) -> str:
    """The heartbeat service's own lines (restores, replays, trust dropped and why): a failure
    on CI then explains itself."""
    lines = [line for line in system.log().splitlines() if "heartbeat" in line]
    return "\n".join(lines[-40:])


async def wait_until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():  # type: ignore[misc]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.5)


async def test_restarts_with_10k_beating_agents_mark_none_offline(
    system_factory: Callable[..., RunningSystem],
) -> None:
    system = system_factory(env=ENV)
    agents = await register_all(system, AGENTS)
    nc = await system.nats_connect(max_reconnect_attempts=-1)
    # A registration is answered once saved; its event may reach the stream later on a busy
    # machine. The restarted replica replays registry events by stream time, so count from
    # when the last of them is in the stream (nothing else publishes before the fleet beats).
    await events_settled(nc)
    registered_at = time.monotonic()
    went_offline: list[str] = []

    async def on_offline(msg: Msg) -> None:
        went_offline.append(json.loads(msg.data)["agent_id"])

    await nc.subscribe(Events.subject("heartbeat", "liveness.WentOffline"), cb=on_offline)
    subjects = [Heartbeat.native(agent_id) for agent_id, _ in agents]
    bodies = [json.dumps({"token": token}).encode() for _, token in agents]
    beating = True

    async def agents_beat() -> None:
        while beating:
            started = time.monotonic()
            for subject, body in zip(subjects, bodies, strict=True):
                await nc.publish(subject, body)
            await nc.flush()
            await asyncio.sleep(max(0.0, INTERVAL - (time.monotonic() - started)))

    fleet = asyncio.create_task(agents_beat())
    try:

        async def all_online() -> bool:
            return (await stats(nc)).online == AGENTS

        await wait_until(all_online, 120, "every agent online")
        # Let a checkpoint hold every agent's trusted token, and the registrations fall out
        # of the window of registry events a restarted replica replays (those agents'
        # tokens would rightly be checked again).
        settled = registered_at + REPLAY_MARGIN_SECONDS + CHECKPOINT_SECONDS + 1
        await asyncio.sleep(max(CHECKPOINT_SECONDS + 1, settled - time.monotonic()))
        for restarts, sig in enumerate((signal.SIGTERM, signal.SIGKILL), start=1):
            before = await stats(nc)
            old_pid = system.signal_service("heartbeat", sig)
            # In a thread: real agents go on beating while the service restarts, and so
            # must this fleet (a blocked event loop paused it for the whole restart, and on a
            # busy machine its first round then came after the restored deadlines).
            await asyncio.to_thread(system.wait_restarted, "heartbeat", old_pid)

            async def restarted(old: str = before.instance) -> bool:
                try:
                    return (await stats(nc)).instance != old
                except Exception:
                    return False

            await wait_until(restarted, 30, "the new heartbeat instance")
            # One full interval plus grace, and a few sweeps more.
            await asyncio.sleep(INTERVAL * MISSED + GRACE + 3)
            after = await stats(nc)
            where = f"after {sig!r}: {after}\n{heartbeat_log(system)}"
            assert after.online == AGENTS, where
            # Trusted tokens came back from the checkpoint: no storm of registry checks.
            assert after.verifications < AGENTS / 10, where
            assert went_offline == [], f"{len(went_offline)} went offline {where}"
            # Each restore said so itself (every agent's token restored from the checkpoint).
            restored = heartbeat_log(system).count(f"trusted tokens restored: {AGENTS},")
            assert restored == restarts, where
    finally:
        beating = False
        await fleet
        await nc.close()
