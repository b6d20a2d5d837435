"""Gateway CPU per request: what the rate limits' bookkeeping costs on every request.

Starts one system (extra settings from `--env`), creates `--workspaces` enterprise workspaces
so that no tier limit refuses (the bookkeeping runs, the 429 does not), then sends
`--requests` requests of each kind over 32 keep-alive connections (bench.http_load), in
`--rounds` rounds, and reads the gateway process's CPU time (user + system, /proc) around
each. Kinds:
- `listed`: `GET /v1/agents?limit=1` with the workspaces' keys in turn (authentication, the
  workspace's bucket, the X-RateLimit-* headers, one registry request);
- `wrong_key`: the same with a key no workspace has (401, a failed authentication counted
  against 127.0.0.1; with the production limit of 60 most of them answer 429 instead).
Prints one JSON line: per kind the median CPU µs per request, requests/s and statuses.

    .venv/bin/python -m bench.gateway_request_cost [--requests 10000] [--rounds 3]
        [--env AGENTPLANE_RATE_LIMIT_SCOPE=all --env AGENTPLANE_AUTH_FAILURE_LIMIT_PER_MINUTE=60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem
from agentplane.testing.tunnel_targets import cpu_seconds
from bench.messages import _load


def measure(system: RunningSystem, specs: list[list[Any]], requests: int) -> dict[str, Any]:
    port = urlsplit(system.base_url).port or 80
    pid = system.pid_of("gateway")
    before = cpu_seconds(pid)
    load = _load(port, specs, requests)
    return {**load, "cpu_us": (cpu_seconds(pid) - before) / requests * 1e6}


def run(requests: int, rounds: int, workspaces: int, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = {"AGENTPLANE_LOG_LEVEL": "WARNING", **env}
        system = RunningSystem(Path(tmp) / "data", settings).start()
        try:
            with httpx.Client(base_url=system.base_url, timeout=30) as client:
                keys = [
                    create_workspace(client, system.admin_token, tier="enterprise")["apiKey"]
                    for _ in range(workspaces)
                ]
            kinds = {
                "listed": [["GET", "/v1/agents?limit=1", "", {"x-api-key": k}] for k in keys],
                "wrong_key": [["GET", "/v1/agents?limit=1", "", {"x-api-key": "ap_wrong"}]],
            }
            measure(system, kinds["listed"], requests // 4)  # warm-up
            results: dict[str, Any] = {"env": env}
            for name, specs in kinds.items():
                runs = [measure(system, specs, requests) for _ in range(rounds)]
                results[name] = {
                    "cpu_us_per_request": round(statistics.median(r["cpu_us"] for r in runs), 1),
                    "cpu_us_all_rounds": [round(r["cpu_us"], 1) for r in runs],
                    "per_s": round(statistics.median(r["per_s"] for r in runs), 1),
                    "statuses": runs[-1]["statuses"],
                }
            return results
        finally:
            system.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    # Enough that each stays far below the enterprise tier's 1000/min and 100/s.
    parser.add_argument("--workspaces", type=int, default=200)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    print(json.dumps(run(args.requests, args.rounds, args.workspaces, env)))


if __name__ == "__main__":
    main()
