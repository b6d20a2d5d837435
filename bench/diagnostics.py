"""Periodic hub checks at fleet size: 1,000 external services checked every 10 s keep their
interval. Reports the achieved check rate against the rate the interval asks for (ratio, in
the same run), the check latency (probe and record) and how late the latest check started.

    .venv/bin/python -m bench.diagnostics [--services 1000] [--interval 10] [--window 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from agentplane.bus.requests import BusClient
from agentplane.contracts.diagnostics import SchedulerStats, SchedulerStatsQuery
from agentplane.contracts.subjects import Diagnostics
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem
from agentplane.testing.tunnel_targets import EchoServer

CONNECTIONS = 32


async def _create(base_url: str, api_key: str, port: int, count: int) -> None:
    limits = httpx.Limits(max_connections=CONNECTIONS)
    slots = asyncio.Semaphore(CONNECTIONS)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:

        async def one(n: int) -> None:
            async with slots:
                response = await http.post(
                    "/v1/services/external",
                    headers={"x-api-key": api_key},
                    json={"name": f"bench-{n}", "targetHost": "127.0.0.1", "targetPort": port,
                          "protocol": "tcp"},
                )  # fmt: skip
                response.raise_for_status()

        await asyncio.gather(*(one(n) for n in range(count)))


async def _stats(system: RunningSystem) -> SchedulerStats:
    nc = await system.nats_connect()
    try:
        data = await BusClient(nc, 10.0).request(Diagnostics.SCHEDULER_STATS, SchedulerStatsQuery())
        return SchedulerStats.model_validate(data)
    finally:
        await nc.close()


def run(services: int = 1000, interval: float = 10.0, window: float = 30.0) -> dict[str, Any]:
    target = EchoServer()
    with tempfile.TemporaryDirectory() as scratch:
        env = {"AGENTPLANE_CHECK_INTERVAL_SECONDS": str(interval)}
        system = RunningSystem(Path(scratch) / "data", env).start()
        try:
            with httpx.Client(base_url=system.base_url, timeout=30) as http:
                workspace = create_workspace(http, system.admin_token)
            asyncio.run(_create(system.base_url, workspace["apiKey"], target.port, services))
            deadline = time.monotonic() + 120
            while asyncio.run(_stats(system)).services < services:
                if time.monotonic() > deadline:
                    raise RuntimeError("the scheduler did not load every service")
                time.sleep(1)
            time.sleep(interval)  # one round at the steady phase spread
            first = asyncio.run(_stats(system))
            started = time.monotonic()
            time.sleep(window)
            last = asyncio.run(_stats(system))
            elapsed = time.monotonic() - started
        finally:
            system.stop()
            target.close()
    achieved = (last.checks_done - first.checks_done) / elapsed
    required = services / interval
    return {
        "diag_services": services,
        "diag_interval_s": interval,
        "diag_checks_per_s": round(achieved, 1),
        "diag_required_per_s": round(required, 1),
        "diag_rate_ratio": round(achieved / required, 3),
        "diag_check_p50_ms": round(last.latency_ms_p50 or 0, 2),
        "diag_check_p99_ms": round(last.latency_ms_p99 or 0, 2),
        "diag_late_max_s": last.late_seconds_max,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--window", type=float, default=30.0)
    args = parser.parse_args()
    print(json.dumps(run(args.services, args.interval, args.window)))
