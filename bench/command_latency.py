"""Remote command latency with N agents connected, against a raw NATS request in the same run.

N agents (seed 000 identities) connect through the NATS auth callout as themselves, subscribe
their inbox and beat until the heartbeat service counts them online. An operator then POSTs
`/v1/agents/{id}/command` to random agents one at a time; each agent notes when the command
arrives. Measured from the POST's return to arrival (arrivals before the return count as 0)
and from the POST's start. Baseline of the same run: a NATS request from the service
connection to a plain responder on an agent connection, same server, same payload size,
answered on the agent's inbox by the agent's connection.

    .venv/bin/python -m bench.command_latency [--agents 1000] [--commands 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from nats.aio.client import Client
from nats.aio.msg import Msg

from agentplane.bus.requests import BusClient
from agentplane.contracts.subjects import AgentChannel
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem
from bench.agent_channel import command_latency, storm_until_online
from bench.heartbeat import register_agents

# About the size of a `status` HubMessage on the wire.
PAYLOAD = b"x" * 300


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def plain_request_round_trips(
    requester: Client, responder: tuple[str, Client], count: int
) -> list[float]:
    """Milliseconds of `count` sequential requests to a plain responder on an agent's inbox
    (the one subject an agent may subscribe to), answered by the agent's own connection."""
    agent_id, agent = responder
    subject = AgentChannel.inbox(agent_id)

    async def echo(msg: Msg) -> None:
        await msg.respond(b"{}")

    sub = await agent.subscribe(subject, cb=echo)
    await agent.flush()
    await asyncio.sleep(0.2)  # the subscription reaches the server's interest graph
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await requester.request(subject, PAYLOAD, timeout=5)
        times.append((time.perf_counter() - started) * 1000)
    await sub.unsubscribe()
    await agent.flush()
    return times


async def measure(system: RunningSystem, agents: int, commands: int) -> dict[str, Any]:
    nc = await system.nats_connect(name="bench-command-latency")
    url = str(system.nats_credentials()["url"])
    results: dict[str, Any] = {}
    opened: list[tuple[str, Client]] = []
    try:
        bus = BusClient(nc, 60)
        with httpx.Client(base_url=system.base_url, timeout=30) as http:
            workspace = create_workspace(http, system.admin_token)
        logins = await register_agents(bus, workspace["workspaceId"], agents)
        storm, opened = await storm_until_online(bus, url, logins)
        results["command_agents_online"] = storm["channel_storm_online"]
        raw = await plain_request_round_trips(nc, opened[0], commands)
        results.update(await command_latency(system, workspace["apiKey"], opened, commands))
        raw_p50, raw_p99 = statistics.median(raw), _p(raw, 0.99)
        results.update(
            raw_nats_request_p50_ms=round(raw_p50, 3),
            raw_nats_request_p99_ms=round(raw_p99, 3),
            command_post_to_agent_p50_ratio_to_raw=round(
                results["command_post_to_agent_p50_ms"] / max(raw_p50, 0.001), 1
            ),
            command_post_to_agent_p99_ratio_to_raw=round(
                results["command_post_to_agent_p99_ms"] / max(raw_p99, 0.001), 1
            ),
            command_after_return_p99_ratio_to_raw=round(
                results["command_after_return_p99_ms"] / max(raw_p99, 0.001), 2
            ),
        )
    finally:
        await asyncio.gather(*(c.close() for _, c in opened), return_exceptions=True)
        await nc.close()
    return results


def run(agents: int = 1000, commands: int = 500) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        system = RunningSystem(Path(tmp) / "data", {"AGENTPLANE_LOG_LEVEL": "WARNING"}).start()
        try:
            return asyncio.run(measure(system, agents, commands))
        finally:
            system.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--commands", type=int, default=500)
    args = parser.parse_args()
    print(json.dumps(run(args.agents, args.commands), indent=2))


if __name__ == "__main__":
    main()
