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

A whole request costs hundreds of µs of gateway CPU and varies by tens of µs from run to run
on a shared machine, more than the bookkeeping itself. So `--in-process` measures just that,
without a system: the failed-authentication throttle and the rate-limit headers middleware
around an ASGI app that does nothing but (with limits) count the request in a workspace's
bucket as a limited route does, against the same app bare; the batch for the other replicas
goes to a publish that does nothing (no NATS here). Best of 5 runs of 50,000 requests.

    .venv/bin/python -m bench.gateway_request_cost --in-process
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
from urllib.parse import urlsplit

import httpx

from agentplane.contracts.workspaces import Tier
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


class _NoPublish:
    """Where the batches for the other replicas go here: nowhere (the cost measured is the
    batching, not NATS)."""

    async def publish(self, subject: str, data: bytes) -> None:
        return None


async def _per_request_us(limited: bool, requests: int, workspaces: int) -> float:
    # Imported here: the system part also runs against older code (PYTHONPATH) without them.
    from agentplane.gateway.auth_throttle import AuthFailureThrottle
    from agentplane.gateway.rate_limits import RateLimitHeaders, RateLimits

    limits = RateLimits(scope="all")
    limits.sync._nc = _NoPublish()  # type: ignore[assignment]
    state = type("State", (), {"rate_limits": limits, "tls_forwarding_secret": "secret"})()
    app = type("App", (), {"state": state})()
    start = {"type": "http.response.start", "status": 200, "headers": []}
    body = {"type": "http.response.body", "body": b"{}"}

    async def route(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if limited:  # as enforce_workspace_limit does
            decision = limits.check(scope["ws"], Tier.ENTERPRISE)
            scope["state"]["rate_limit_headers"] = decision.headers
        await send(dict(start))
        await send(body)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    stack: Any = AuthFailureThrottle(RateLimitHeaders(route)) if limited else route
    headers = [(b"host", b"gw"), (b"x-api-key", b"ap_0123456789"), (b"accept", b"*/*")]
    scopes = [
        {"type": "http", "path": "/v1/agents", "headers": headers, "client": ("10.0.0.1", 1),
         "app": app, "ws": f"ws_{n}"}
        for n in range(workspaces)
    ]  # fmt: skip
    started = time.perf_counter()
    for n in range(requests):
        scope = dict(scopes[n % workspaces])
        scope["state"] = {}
        await stack(scope, receive, send)
    return (time.perf_counter() - started) / requests * 1e6


def in_process(requests: int = 50_000, workspaces: int = 200) -> dict[str, Any]:
    runs = {
        name: [asyncio.run(_per_request_us(limited, requests, workspaces)) for _ in range(5)]
        for name, limited in (("bare_us", False), ("with_limits_us", True))
    }
    best = {name: min(values) for name, values in runs.items()}
    return {
        **{name: round(value, 2) for name, value in best.items()},
        "bookkeeping_us_per_request": round(best["with_limits_us"] - best["bare_us"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    # Enough that each stays far below the enterprise tier's 1000/min and 100/s.
    parser.add_argument("--workspaces", type=int, default=200)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE")
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    if args.in_process:
        print(json.dumps(in_process()))
        return
    env = dict(item.split("=", 1) for item in args.env)
    print(json.dumps(run(args.requests, args.rounds, args.workspaces, env)))


if __name__ == "__main__":
    main()
