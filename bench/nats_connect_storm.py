"""Authenticated agent connects per second through the NATS auth callout (the registry).

Sequential connects (connect, flush, close, one after another) and a storm of N clients
connecting at once from one process, each as its own seed 000 agent, against the raw
baseline of the same run: the service user's connects, which the server checks against its
config without a callout.

    .venv/bin/python -m bench.nats_connect_storm [--clients 5000] [--sequential 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from nats.aio.client import Client

from agentplane.bus.requests import BusClient
from agentplane.contracts.subjects import AgentChannel
from agentplane.nats_connect import connect_verified
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem
from bench.heartbeat import register_agents


async def _quiet(_: Exception) -> None:
    return None


async def connect_once(url: str, user: str, password: str, timeout: float = 30.0) -> Client:
    return await connect_verified(
        url,
        user=user,
        password=password,
        inbox_prefix=AgentChannel.reply_inbox_prefix(user).encode(),
        allow_reconnect=False,
        max_reconnect_attempts=0,
        connect_timeout=timeout,
        error_cb=_quiet,
    )


async def sequential(url: str, logins: list[tuple[str, str]]) -> float:
    started = time.perf_counter()
    for user, password in logins:
        nc = await connect_once(url, user, password)
        await nc.flush()
        await nc.close()
    return len(logins) / (time.perf_counter() - started)


async def storm(url: str, logins: list[tuple[str, str]]) -> tuple[float, int, list[Client]]:
    """Every client connects at once; (connects/s, refused or failed, open clients)."""
    errors: dict[str, int] = {}

    async def one(user: str, password: str) -> Client | None:
        try:
            return await connect_once(url, user, password, timeout=60.0)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:80]
            errors[reason] = errors.get(reason, 0) + 1
            return None

    started = time.perf_counter()
    clients = await asyncio.gather(*(one(u, p) for u, p in logins))
    elapsed = time.perf_counter() - started
    opened = [c for c in clients if c is not None]
    if errors:
        print(f"connect storm failures: {errors}", file=sys.stderr)
    return len(opened) / elapsed, len(logins) - len(opened), opened


async def measure(system: RunningSystem, clients: int, count: int) -> dict[str, Any]:
    service = system.nats_credentials()
    url, user, password = str(service["url"]), str(service["user"]), str(service["password"])
    nc = await system.nats_connect(name="bench-nats-connect-storm")
    try:
        with httpx.Client(base_url=system.base_url, timeout=30) as http:
            workspace_id = create_workspace(http, system.admin_token)["workspaceId"]
        agents = await register_agents(BusClient(nc, 60), workspace_id, max(clients, count))
    finally:
        await nc.close()
    raw = await sequential(url, [(user, password)] * count)
    one_by_one = await sequential(url, agents[:count])
    rate, failed, opened = await storm(url, agents[:clients])
    await asyncio.gather(*(c.close() for c in opened), return_exceptions=True)
    return {
        "nats_connect_service_user_sequential_per_s": round(raw, 1),
        "nats_connect_callout_sequential_per_s": round(one_by_one, 1),
        f"nats_connect_callout_storm_{clients}_per_s": round(rate, 1),
        "nats_connect_storm_failed": failed,
        "nats_connect_callout_sequential_ratio_to_raw": round(one_by_one / raw, 4),
    }


def run(clients: int = 5000, count: int = 500) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        system = RunningSystem(Path(tmp) / "data", {"AGENTPLANE_LOG_LEVEL": "WARNING"}).start()
        try:
            return asyncio.run(measure(system, clients, count))
        finally:
            system.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--sequential", type=int, default=500)
    args = parser.parse_args()
    print(json.dumps(run(args.clients, args.sequential)))
