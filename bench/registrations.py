"""Registrations per second through HTTP vs raw batched event-store appends, same run."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from agentplane.registry.application import RegistryStore
from agentplane.registry.domain import Agent
from agentplane.settings import Settings
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem


def raw_batched_appends(count: int = 5000, batch: int = 100) -> float:
    """Agent.Registered events saved straight into a SQLite event store, `batch` per commit."""
    with tempfile.TemporaryDirectory() as tmp:
        store = RegistryStore.from_settings(Settings(data_dir=Path(tmp)))
        aggregates = [
            Agent.register(uuid4(), "ws_bench", "a", None, "h" * 64, "agent_tok_x", None)
            for _ in range(count)
        ]
        started = time.perf_counter()
        for i in range(0, count, batch):
            store.save(*aggregates[i : i + batch])
        return count / (time.perf_counter() - started)


def _body() -> dict[str, Any]:
    return {"agentId": str(uuid4()), "token": "t" * 40, "name": "bench"}


def sequential(system: RunningSystem, api_key: str, count: int = 300) -> float:
    with httpx.Client(base_url=system.base_url, timeout=60) as client:
        started = time.perf_counter()
        for _ in range(count):
            response = client.post(
                "/v1/agents/register", headers={"x-api-key": api_key}, json=_body()
            )
            response.raise_for_status()
        return count / (time.perf_counter() - started)


async def storm(system: RunningSystem, api_key: str, agents: int = 1000) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=agents, max_keepalive_connections=agents)
    async with httpx.AsyncClient(base_url=system.base_url, timeout=120, limits=limits) as client:

        async def one() -> int:
            response = await client.post(
                "/v1/agents/register", headers={"x-api-key": api_key}, json=_body()
            )
            return response.status_code

        started = time.perf_counter()
        codes = await asyncio.gather(*(one() for _ in range(agents)))
        elapsed = time.perf_counter() - started
    return agents / elapsed, sum(1 for code in codes if code != 201)


def run() -> dict[str, Any]:
    raw = raw_batched_appends()
    with tempfile.TemporaryDirectory() as tmp:
        system = RunningSystem(Path(tmp) / "data").start()
        try:
            with httpx.Client(base_url=system.base_url, timeout=30) as client:
                api_key = create_workspace(client, system.admin_token)["apiKey"]
            one_at_a_time = sequential(system, api_key)
            storm_rate, failed = asyncio.run(storm(system, api_key))
        finally:
            system.stop()
    return {
        "raw_batched_appends_per_s": round(raw, 1),
        "http_register_sequential_per_s": round(one_at_a_time, 1),
        "http_register_storm_1000_per_s": round(storm_rate, 1),
        "storm_failed": failed,
        "sequential_ratio_to_raw": round(one_at_a_time / raw, 4),
        "storm_ratio_to_raw": round(storm_rate / raw, 4),
    }
