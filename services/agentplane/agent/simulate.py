"""`agentplane agent simulate`: many lightweight seed 000 agents in one process, each with
its own NATS channel connection, heartbeats and command results, for demos and load tests."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from agentplane.agent.channel import Channel
from agentplane.agent.commands import Commands
from agentplane.agent.hub import HubDispatch
from agentplane.agent.state import HandledIds
from agentplane.agent.tasks import TaskRunner, default_registry
from agentplane.agent.version import agent_version
from agentplane.contracts.channel import AgentHello
from agentplane.sdk import AgentplaneError, AsyncClient

log = logging.getLogger("agentplane.agent")
PARALLEL = 32
ONLINE_TIMEOUT = 120.0


class SimAgent:
    def __init__(self, index: int, client: AsyncClient, nats_urls: list[str]) -> None:
        self.index = index
        self.agent_id = str(uuid.uuid4())
        self.token = secrets.token_urlsafe(36)
        self.client = client
        self.first_beat: float | None = None
        self.beat_failures = 0
        self.finished = asyncio.Event()
        handled = HandledIds(None)
        self.tasks = TaskRunner(default_registry(), self._publish)
        self.channel = Channel(
            self.agent_id,
            lambda: nats_urls,
            lambda: self.token,
            HubDispatch(handled, Commands(self.status), self.tasks, self._publish,
                        lambda _s: None, self._after),
            lambda: AgentHello(agent_version=agent_version(), process_start_time=datetime.now(UTC)),
            lambda _w: None,
        )  # fmt: skip

    def status(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "simulated": True, "index": self.index}

    async def _publish(self, kind: str, model: Any) -> None:
        await self.channel.publish(kind, model)

    async def _after(self, action: str) -> None:
        # A simulated agent answers restart/stop but keeps running: the fleet stays whole.
        log.info("simulated agent %s: %s", self.index, action)

    async def beat(self) -> None:
        try:
            await self.client.agents.heartbeat(self.agent_id, self.token)
        except AgentplaneError:
            self.beat_failures += 1
            return
        if self.first_beat is None:
            self.first_beat = time.monotonic()

    async def beats(self, interval: float, rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(0, min(interval, 1.0)))
        while True:
            await self.beat()
            await asyncio.sleep(interval * rng.uniform(0.9, 1.1))


async def _discover(server: str, agent: SimAgent) -> list[str]:
    headers = {"Authorization": f"Bearer {agent.token}", "X-Agent-ID": agent.agent_id}
    async with httpx.AsyncClient(base_url=server, timeout=10.0) as http:
        response = await http.get("/v1/agent-channel", headers=headers)
    if response.status_code != 200:
        return []
    urls = response.json().get("natsUrls") or []
    return [str(u) for u in urls]


async def _online(admin: AsyncClient, ids: set[str]) -> int:
    try:
        online = await admin.agents.online()
    except AgentplaneError:
        return 0
    return len(ids & {str(a.id) for a in online})


async def simulate(
    server: str, count: int, workspace_key: str, churn: float, nats_url: str | None,
    duration: float, interval: float,
) -> dict[str, Any]:  # fmt: skip
    server = server.rstrip("/")
    rng = random.Random()
    urls: list[str] = [nats_url] if nats_url else []
    async with (
        AsyncClient(server, api_key=workspace_key, timeout=30.0) as admin,
        AsyncClient(server, timeout=30.0) as plain,
    ):
        agents = [SimAgent(i, plain, urls) for i in range(count)]
        gate = asyncio.Semaphore(PARALLEL)

        async def register(agent: SimAgent) -> None:
            async with gate:
                await admin.agents.register(agent.agent_id, agent.token, name=f"sim-{agent.index}")

        started = time.monotonic()
        await asyncio.gather(*(register(a) for a in agents))
        registered_at = time.monotonic()
        if not urls:
            urls.extend(await _discover(server, agents[0]))
        workers = [asyncio.create_task(a.beats(interval, rng)) for a in agents]
        if urls:
            workers += [asyncio.create_task(a.channel.run()) for a in agents]
        ids = {a.agent_id for a in agents}
        all_online: float | None = None
        channels_at: float | None = None
        deadline = time.monotonic() + ONLINE_TIMEOUT
        while time.monotonic() < deadline and (all_online is None or channels_at is None):
            await asyncio.sleep(0.25)
            if channels_at is None and (not urls or all(a.channel.connects for a in agents)):
                channels_at = time.monotonic()
            if all_online is None and await _online(admin, ids) == count:
                all_online = time.monotonic()
        churned = 0
        end = time.monotonic() + duration
        while time.monotonic() < end:
            await asyncio.sleep(min(interval, max(0.0, end - time.monotonic())))
            for agent in agents:
                if urls and rng.random() < churn:
                    churned += 1
                    await agent.channel.reconnect()
        connected = sum(1 for a in agents if a.channel.connected)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await asyncio.gather(*(a.channel.close() for a in agents), return_exceptions=True)
    connect_seconds = (channels_at or time.monotonic()) - registered_at
    return {
        "agents": count,
        "registered_seconds": round(registered_at - started, 3),
        "channel": bool(urls),
        "connected": connected,
        "connect_rate_per_second": round(count / connect_seconds, 1) if connect_seconds else None,
        "seconds_until_all_online": (
            round(all_online - registered_at, 3) if all_online is not None else None
        ),
        "heartbeat_failures": sum(a.beat_failures for a in agents),
        "churned": churned,
    }
