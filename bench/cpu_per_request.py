"""CPU per request, per process: where an echo and a registration storm spend their CPU.

Throughput on a shared 2-core machine swings with the neighbours' load; CPU time per
request, per process, barely does. For each run this reads utime+stime of every process of
one `RunningSystem` (services, nats-server, the launcher) from /proc before the run and again
once the event stream's durable consumers have drained (a registration's consumers work
after the caller got its answer, so stopping the clock at the last reply would miss them).
The processes' idle CPU rate, measured before, is subtracted for the time the run took.

- `echo`: `GET /health/registry` (gateway → NATS → registry → back, no work).
- `storm`: seed 000 registrations (`POST /v1/agents/register`), all sent at once.
- `send` (with `--kinds ...,send`): seed 000 message sends between 50 agents over 32
  connections (`bench.messages`' specs), and its no-op, `GET /health/messaging`, as `send_noop`.

    .venv/bin/python -m bench.cpu_per_request [--storm 5000] [--rounds 2] [--kinds echo,storm,send]

Prints one JSON line: per run the median over rounds of ms CPU per request for each process
(and in total), requests/s, the events each registration put on the stream (by subject),
/proc/loadavg before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem
from bench.messages import CONNECTIONS, NOOP_SPEC, send_specs
from bench.register_storm import load, registrations

STORM = 5000
KINDS = ("echo", "storm", "send")
TICKS = os.sysconf("SC_CLK_TCK")
# How long the system is watched at rest to learn its idle CPU rate.
IDLE_SECONDS = 3.0
# Longest wait for the consumers to drain after a run.
DRAIN_TIMEOUT = 120.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def processes(system: RunningSystem) -> dict[str, int]:
    """Service name → pid, plus nats-server and the launcher (children by command name)."""
    pids = {name: int(pid) for name, pid in system.runtime()["pids"].items()}
    known = set(pids.values())
    children = subprocess.run(
        ["pgrep", "-P", str(system.proc.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for child in map(int, children):
        if child not in known:
            pids.setdefault(Path(f"/proc/{child}/comm").read_text().strip(), child)
    pids["launcher"] = system.proc.pid
    return pids


def sample(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


async def stream_state(system: RunningSystem) -> tuple[int, dict[str, int], bool]:
    """(last sequence, messages per subject, whether every durable consumer has drained)."""
    nc = await system.nats_connect()
    try:
        js = nc.jetstream()
        info = await js.stream_info(EVENTS_STREAM, subjects_filter=">")
        drained = all(
            c.num_pending == 0 and c.num_ack_pending == 0
            for c in await js.consumers_info(EVENTS_STREAM)
            if c.config.durable_name
        )
        return int(info.state.last_seq), dict(info.state.subjects or {}), drained
    finally:
        await nc.close()


def wait_drained(system: RunningSystem) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while not asyncio.run(stream_state(system))[2]:
        if time.monotonic() > deadline:
            raise TimeoutError("the event stream's consumers did not drain")
        time.sleep(0.2)


def measured(
    system: RunningSystem, run: Callable[[], dict[str, Any]], requests: int
) -> dict[str, Any]:
    pids = processes(system)
    wait_drained(system)
    rest = sample(pids)
    time.sleep(IDLE_SECONDS)
    before = sample(pids)
    idle_rate = {name: (before[name] - rest[name]) / IDLE_SECONDS for name in pids}
    _, subjects_before, _ = asyncio.run(stream_state(system))
    started = time.monotonic()
    result = run()
    wall = time.monotonic() - started
    wait_drained(system)
    after = sample(pids)
    took = time.monotonic() - started
    _, subjects_after, _ = asyncio.run(stream_state(system))
    used = {name: max(0.0, after[name] - before[name] - idle_rate[name] * took) for name in pids}
    events = Counter(subjects_after)
    events.subtract(subjects_before)
    return {
        "per_s": result["per_s"],
        "failed": result["failed"],
        "wall_s": round(wall, 1),
        "drained_s": round(took - wall, 1),
        "ms": {name: 1000 * seconds / requests for name, seconds in used.items()},
        "events": {s: round(n / requests, 2) for s, n in events.items() if n > 0},
    }


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    names = runs[0]["ms"].keys()
    ms = {name: statistics.median(run["ms"][name] for run in runs) for name in names}
    totals = [sum(run["ms"].values()) for run in runs]
    return {
        "per_s": [round(run["per_s"]) for run in runs],
        "failed": sum(run["failed"] for run in runs),
        "cpu_ms_total": round(statistics.median(totals), 2),
        "cpu_ms_total_rounds": [round(t, 2) for t in totals],
        "cpu_ms": {
            name: round(value, 2)
            for name, value in sorted(ms.items(), key=lambda kv: -kv[1])
            if value >= 0.005
        },
        "drained_s": [run["drained_s"] for run in runs],
        "events_per_request": runs[-1]["events"],
    }


def run(storm: int = STORM, rounds: int = 2, kinds: tuple[str, ...] = KINDS[:2]) -> dict[str, Any]:
    load_before = loadavg()
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        system = RunningSystem(Path(tmp) / "data", {"AGENTPLANE_LOG_LEVEL": "WARNING"}).start()
        try:
            with httpx.Client(base_url=system.base_url, timeout=30) as client:
                api_key = create_workspace(client, system.admin_token, tier="enterprise")["apiKey"]
            port = urlsplit(system.base_url).port or 80
            echo_spec = [["GET", "/health/registry", "", {}]]
            sends = send_specs(system, api_key) if "send" in kinds else []
            # Warm-up: connections, caches, the workspace key.
            load(port, echo_spec, 500, 32)
            load(port, registrations(api_key, 200), 200, 32)
            if sends:
                load(port, sends, 500, CONNECTIONS)
            for _ in range(rounds):
                if "echo" in kinds:
                    runs.setdefault("echo", []).append(
                        measured(system, lambda: load(port, echo_spec, storm, storm), storm)
                    )
                if "storm" in kinds:
                    specs = registrations(api_key, storm)
                    runs.setdefault("storm", []).append(
                        measured(system, lambda s=specs: load(port, s, storm, storm), storm)
                    )
                if sends:
                    runs.setdefault("send_noop", []).append(
                        measured(system, lambda: load(port, NOOP_SPEC, storm, CONNECTIONS), storm)
                    )
                    runs.setdefault("send", []).append(
                        measured(system, lambda: load(port, sends, storm, CONNECTIONS), storm)
                    )
        finally:
            system.stop()
    return {
        "requests": storm,
        "rounds": rounds,
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        **{kind: summary(kind_runs) for kind, kind_runs in runs.items()},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storm", type=int, default=STORM)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kinds", default="echo,storm", help=f"comma-separated of {KINDS}")
    args = parser.parse_args()
    kinds = tuple(k for k in args.kinds.split(",") if k)
    if unknown := set(kinds) - set(KINDS):
        parser.error(f"unknown kinds {sorted(unknown)}")
    print(json.dumps(run(args.storm, args.rounds, kinds)))
