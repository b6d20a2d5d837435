"""The agent channel at fleet size: a connection storm until online, and command latency.

1. Connection storm: N agents (seed 000 identities) connect at once from cold, each through
   the NATS auth callout, subscribe their inbox and beat once over the channel
   (`ap.agent.<id>.hb`): connects/s and the seconds until the heartbeat service counts all of
   them online. Baselines of the same run: sequential connects of the service user (no
   callout) and of agents (callout).
2. Command latency: with M of those agents connected, operators POST
   `/v1/agents/{id}/command`; each agent records when the command arrives on its inbox.
   Reported from the POST's return to arrival (the issue's measure; arrivals before the
   return count as 0) and from the POST's start, against a raw NATS request/reply round trip
   through the same server in the same run.

    .venv/bin/python -m bench.agent_channel [--agents 5000] [--connected 1000] [--commands 500]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from nats.aio.client import Client
from nats.aio.msg import Msg

from agentplane.bus.requests import BusClient
from agentplane.contracts.channel import ChannelAck, HubMessage
from agentplane.contracts.liveness import LivenessQuery, LivenessReport
from agentplane.contracts.subjects import AgentChannel, Heartbeat
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem
from bench.heartbeat import register_agents
from bench.nats_connect_storm import connect_once, sequential


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def online_ids(bus: BusClient, agent_ids: list[str]) -> set[str]:
    online: set[str] = set()
    for start in range(0, len(agent_ids), 2000):
        chunk = [UUID(a) for a in agent_ids[start : start + 2000]]
        data = await bus.request(Heartbeat.LIVENESS_QUERY, LivenessQuery(agent_ids=chunk))
        report = LivenessReport.model_validate(data).agents
        online |= {agent for agent, liveness in report.items() if liveness.online}
    return online


async def storm_until_online(
    bus: BusClient, url: str, logins: list[tuple[str, str]]
) -> tuple[dict[str, Any], list[tuple[str, Client]]]:
    retries = 0

    async def one(agent_id: str, password: str) -> tuple[str, Client | None]:
        # As the reference agent does: a failed connect is retried after a jittered backoff.
        nonlocal retries
        for attempt in range(6):
            try:
                return agent_id, await connect_once(url, agent_id, password, timeout=60.0)
            except Exception:
                retries += 1
                await asyncio.sleep(random.uniform(0.5, 1.0) * 2**attempt)
        return agent_id, None

    started = time.perf_counter()
    connected = await asyncio.gather(*(one(u, p) for u, p in logins))
    rate = len(logins) / (time.perf_counter() - started)
    pairs = [(a, c) for a, c in connected if c is not None]
    failed = len(logins) - len(pairs)

    async def beat(agent_id: str, nc: Client) -> bool:
        subject = AgentChannel.from_agent(agent_id, AgentChannel.HEARTBEAT)
        try:
            await nc.request(subject, b'{"status": "idle"}', timeout=10)
        except Exception:
            return False
        return True

    first = await asyncio.gather(*(beat(a, c) for a, c in pairs))
    ids = [a for a, _ in pairs]
    clients = dict(pairs)
    # Agents beat again (as real ones do on their interval) until every one is online; a
    # beat that got no answer is counted, never hidden.
    online = await online_ids(bus, ids)
    while len(online) < len(ids) and time.perf_counter() - started < 120:
        await asyncio.gather(*(beat(a, clients[a]) for a in ids if a not in online))
        await asyncio.sleep(0.2)
        online = await online_ids(bus, ids)
    until_online = time.perf_counter() - started
    return {
        "channel_storm_first_beats_unanswered": first.count(False),
        f"channel_storm_{len(logins)}_connects_per_s": round(rate, 1),
        "channel_storm_failed": failed,
        "channel_storm_connect_retries": retries,
        "channel_storm_online": len(online),
        "channel_storm_seconds_until_all_online": round(until_online, 2),
    }, pairs


async def raw_round_trips(nc: Client, count: int) -> list[float]:
    subject = "bench.raw.echo"

    async def echo(msg: Msg) -> None:
        await msg.respond(msg.data)

    sub = await nc.subscribe(subject, cb=echo)
    await nc.flush()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await nc.request(subject, b"x" * 300, timeout=5)
        times.append((time.perf_counter() - started) * 1000)
    await sub.unsubscribe()
    return times


async def command_latency(
    system: RunningSystem, api_key: str, agents: list[tuple[str, Client]], commands: int
) -> dict[str, Any]:
    arrived: dict[str, float] = {}
    signals: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def acker(nc: Client) -> Any:
        async def on_message(msg: Msg) -> None:
            hub = HubMessage.model_validate_json(msg.data)
            arrived.setdefault(hub.id, time.perf_counter())
            signals[hub.id].set()
            await msg.respond(ChannelAck(message_id=hub.id).model_dump_json().encode())

        return on_message

    for agent_id, nc in agents:
        await nc.subscribe(AgentChannel.inbox(agent_id), cb=acker(nc))
    await asyncio.gather(*(nc.flush() for _, nc in agents))
    after_return: list[float] = []
    end_to_end: list[float] = []
    headers = {"x-api-key": api_key}
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30, headers=headers) as http:
        for _ in range(commands):
            agent_id = random.choice(agents)[0]
            started = time.perf_counter()
            response = await http.post(f"/v1/agents/{agent_id}/command", json={"action": "status"})
            returned = time.perf_counter()
            command_id = response.json()["commandId"]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signals[command_id].wait(), 10)
            at = arrived.get(command_id, returned + 10)
            after_return.append(max(0.0, at - returned) * 1000)
            end_to_end.append((at - started) * 1000)
    return {
        "command_agents_connected": len(agents),
        "command_after_return_p50_ms": round(_p(after_return, 0.5), 2),
        "command_after_return_p99_ms": round(_p(after_return, 0.99), 2),
        "command_post_to_agent_p50_ms": round(statistics.median(end_to_end), 2),
        "command_post_to_agent_p99_ms": round(_p(end_to_end, 0.99), 2),
        "command_lost": sum(1 for v in after_return if v >= 10_000),
    }


async def measure(
    system: RunningSystem, agents: int, connected: int, commands: int
) -> dict[str, Any]:
    service = system.nats_credentials()
    url, user, password = str(service["url"]), str(service["user"]), str(service["password"])
    nc = await system.nats_connect(name="bench-agent-channel")
    results: dict[str, Any] = {}
    try:
        bus = BusClient(nc, 60)
        with httpx.Client(base_url=system.base_url, timeout=30) as http:
            workspace = create_workspace(http, system.admin_token)
        logins = await register_agents(bus, workspace["workspaceId"], agents)
        raw_seq = await sequential(url, [(user, password)] * 300)
        callout_seq = await sequential(url, logins[:300])
        results.update(
            nats_connect_service_user_sequential_per_s=round(raw_seq, 1),
            nats_connect_callout_sequential_per_s=round(callout_seq, 1),
            nats_connect_callout_sequential_ratio_to_raw=round(callout_seq / raw_seq, 4),
        )
        storm_results, opened = await storm_until_online(bus, url, logins)
        results.update(storm_results)
        keep, close = opened[:connected], opened[connected:]
        await asyncio.gather(*(c.close() for _, c in close), return_exceptions=True)
        raw = await raw_round_trips(nc, commands)
        results.update(
            raw_nats_request_p50_ms=round(statistics.median(raw), 3),
            raw_nats_request_p99_ms=round(_p(raw, 0.99), 3),
        )
        results.update(await command_latency(system, workspace["apiKey"], keep, commands))
        results["command_p99_ratio_to_raw_request"] = round(
            results["command_post_to_agent_p99_ms"]
            / max(results["raw_nats_request_p99_ms"], 0.001),
            1,
        )
        await asyncio.gather(*(c.close() for _, c in keep), return_exceptions=True)
    finally:
        await nc.close()
    return results


def run(agents: int = 5000, connected: int = 1000, commands: int = 500) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        system = RunningSystem(Path(tmp) / "data", {"AGENTPLANE_LOG_LEVEL": "WARNING"}).start()
        try:
            return asyncio.run(measure(system, agents, connected, commands))
        finally:
            system.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--connected", type=int, default=1000)
    parser.add_argument("--commands", type=int, default=500)
    args = parser.parse_args()
    print(json.dumps(run(args.agents, args.connected, args.commands)))
