"""`GET /v1/agents` with 100,000 agents in one workspace: time, completeness, gateway memory.

The fleet is appended straight into the running registry's event store (`bench.fleet`: the
same `agent.Registered` events as HTTP registrations, 1,000 per transaction) and projected
and published by the running services; the runs start once every consumer of the events
(audit, …) has caught up. Then the whole list is fetched `RUNS` times, streamed
by a plain HTTP client; each run reports the seconds until the last byte, and every run
must return all agents. The gateway's RSS is sampled every 5 ms during the runs; growth is
the peak minus the RSS before the first run. Targets: p50 ≤ 2 s, RSS growth ≤ 200 MB.

    .venv/bin/python -m bench.list_100k [--agents 100000] [--runs 3] [--path /v1/agents/online]

`--path` lists another seed 000 list of the same fleet (`/v1/agents/online`: every page is
read and asked the heartbeat service about, none of the appended agents is online).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem
from bench.fleet import append_agents, wait_projected, wait_quiet

AGENTS = 100_000
PATH = "/v1/agents"


def rss_bytes(pid: int) -> int:
    resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples a process's RSS in a thread until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def fetch_all(system: RunningSystem, api_key: str, path: str) -> tuple[float, int, int]:
    """Seconds until the last byte, agents returned, bytes received."""
    with httpx.Client(base_url=system.base_url, timeout=120) as http:
        started = time.perf_counter()
        chunks = []
        with http.stream("GET", path, headers={"x-api-key": api_key}) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                chunks.append(chunk)
        elapsed = time.perf_counter() - started
    body = b"".join(chunks)
    return elapsed, len(json.loads(body)), len(body)


def measure(system: RunningSystem, agents: int, runs: int, path: str) -> dict[str, Any]:
    with httpx.Client(base_url=system.base_url, timeout=30) as http:
        ws = create_workspace(http, system.admin_token, tier="enterprise")
    started = time.perf_counter()
    _, last = append_agents(system.data_dir, ws["workspaceId"], agents)
    appended = time.perf_counter() - started
    wait_projected(system.data_dir, last)
    projected = time.perf_counter() - started
    asyncio.run(wait_quiet(system))
    settled = time.perf_counter() - started
    gateway = system.pid_of("gateway")
    before = rss_bytes(gateway)
    times: list[float] = []
    counts: list[int] = []
    size = 0
    with PeakRss(gateway) as peak:
        for _ in range(runs):
            elapsed, count, size = fetch_all(system, ws["apiKey"], path)
            times.append(elapsed)
            counts.append(count)
    return {
        "list_100k_agents": agents,
        "list_100k_path": path,
        "list_100k_p50_s": round(statistics.median(times), 3),
        "list_100k_runs_s": [round(t, 3) for t in times],
        "list_100k_all_returned": all(c == (agents if path == PATH else 0) for c in counts),
        "list_100k_body_mb": round(size / 1e6, 1),
        "list_100k_gateway_rss_growth_mb": round((peak.peak - before) / 1e6, 1),
        "list_100k_gateway_rss_peak_mb": round(peak.peak / 1e6, 1),
        "list_100k_populate_append_s": round(appended, 1),
        "list_100k_populate_projected_s": round(projected, 1),
        "list_100k_populate_settled_s": round(settled, 1),
    }


def run(agents: int = AGENTS, runs: int = 3, path: str = PATH) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        system = RunningSystem(Path(tmp) / "data", {"AGENTPLANE_LOG_LEVEL": "WARNING"}).start()
        try:
            return measure(system, agents, runs, path)
        finally:
            system.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=AGENTS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--path", default=PATH)
    args = parser.parse_args()
    print(json.dumps(run(args.agents, args.runs, args.path)))
