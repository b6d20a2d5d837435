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

`--in-process-app` measures the whole gateway app (create_app: every middleware, routing,
dependencies, the endpoint, the bus client) in this process, with a NATS connection that
answers at once with canned replies (what the gateway itself costs, without uvicorn, NATS
or the services), `--in-flight` requests at a time: `echo` (`GET /health/registry`),
`register` (seed 000 `POST /v1/agents/register`) and `send` (`POST …/messages/send`). Per
kind the best of 5 runs in µs of CPU per request, and the µs of it spent in the garbage
collector (gc.callbacks); a storm holds thousands of requests in flight, which is where the
collector's settings matter.

    .venv/bin/python -m bench.gateway_request_cost --in-process-app [--in-flight 1000]
        [--collector server|default]
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


class _CannedMsg:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.headers: dict[str, str] | None = None


class _CannedNats:
    """Answers each request like the service would, after yielding to the loop a few times
    (so requests interleave as they do waiting for NATS)."""

    is_closed = False
    is_connected = True

    def __init__(self, replies: dict[str, dict[str, Any]]) -> None:
        self.replies = {k: json.dumps({"ok": True, "data": v}).encode() for k, v in replies.items()}

    async def request(
        self, subject: str, data: bytes, timeout: float = 1.0, headers: Any = None
    ) -> _CannedMsg:
        for _ in range(3):
            await asyncio.sleep(0)
        if subject.endswith("workspace.authenticate"):  # one workspace per key
            key = json.loads(data)["api_key"]
            identity = {"workspace_id": f"ws_{key}", "workspace_name": "w", "tier": "enterprise"}
            return _CannedMsg(json.dumps({"ok": True, "data": identity}).encode())
        return _CannedMsg(self.replies.get(subject, b'{"ok":true,"data":{}}'))

    async def publish(self, subject: str, data: bytes, headers: Any = None) -> None:
        return None


async def _app_us(kind: str, requests: int, in_flight: int, tuned: bool) -> tuple[float, float]:
    import gc
    from datetime import UTC, datetime
    from uuid import uuid4

    from agentplane.bus.requests import BusClient
    from agentplane.contracts.subjects import Messaging, Registry
    from agentplane.gateway.app import create_app
    from agentplane.gateway.auth import WorkspaceKeys
    from agentplane.settings import GatewaySettings

    now = datetime.now(UTC).isoformat()
    record = {"workspace_id": "ws", "registered": True, "created_at": now, "token_prefix": "agent"}
    nc = _CannedNats(
        {
            Registry.AGENT_REGISTER: {"id": str(uuid4()), **record},
            Messaging.MESSAGE_SEND: {"message_id": "msg_1", "expires_at": now},
        }
    )
    app = create_app(GatewaySettings(rate_limit_scope="pap"))  # as the benchmarks' systems
    app.state.nc = nc
    app.state.bus = BusClient(nc, 5.0)  # type: ignore[arg-type]
    app.state.workspace_keys = WorkspaceKeys(app.state.bus)
    if tuned:  # as gateway.main does once the app is built
        from agentplane.bus.gc_tuning import tune_for_server

        tune_for_server()
    shapes = {
        "echo": ("GET", "/health/registry", b""),
        "register": ("POST", "/v1/agents/register", json.dumps(
            {"agentId": str(uuid4()), "token": "agent_tok_" + uuid4().hex * 2}).encode()),
        "send": ("POST", f"/v1/agents/{uuid4()}/messages/send", json.dumps(
            {"toAgentId": str(uuid4()), "payload": {"n": 1, "text": "hello"}}).encode()),
    }  # fmt: skip
    method, path, body = shapes[kind]
    keys = [f"ap_{n:040d}".encode() for n in range(2000)]
    sent = [0]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] < 300, message

    async def one() -> None:
        sent[0] += 1
        headers = [(b"host", b"gw"), (b"x-api-key", keys[sent[0] % len(keys)])]
        if body:
            headers += [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]  # fmt: skip
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }  # fmt: skip
        await app(scope, receive, send)

    for _ in range(200):  # warm-up: caches, lazily built route tables
        await one()
    collecting = [0.0, 0.0]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collecting[1] = time.process_time()
        else:
            collecting[0] += time.process_time() - collecting[1]

    gc.callbacks.append(timed)
    try:
        started = time.process_time()
        for _ in range(requests // in_flight):
            await asyncio.gather(*(one() for _ in range(in_flight)))
        spent = time.process_time() - started
    finally:
        gc.callbacks.remove(timed)
    done = requests // in_flight * in_flight
    return spent / done * 1e6, collecting[0] / done * 1e6


def in_process_app(
    requests: int = 5000, in_flight: int = 1000, tuned: bool = True
) -> dict[str, Any]:
    import uvloop

    collector = "server" if tuned else "default"
    results: dict[str, Any] = {"in_flight": in_flight, "collector": collector}
    for kind in ("echo", "register", "send"):
        runs = [uvloop.run(_app_us(kind, requests, in_flight, tuned)) for _ in range(5)]
        best = min(runs)
        results[kind] = {"cpu_us": round(best[0], 1), "gc_us": round(best[1], 1)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    # Enough that each stays far below the enterprise tier's 1000/min and 100/s.
    parser.add_argument("--workspaces", type=int, default=200)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE")
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--in-process-app", action="store_true")
    parser.add_argument("--in-flight", type=int, default=1000)
    # `server`: the gateway's collector settings (bus/gc_tuning.py); `default`: CPython's.
    parser.add_argument("--collector", choices=["server", "default"], default="server")
    args = parser.parse_args()
    if args.in_process_app:
        tuned = args.collector == "server"
        print(json.dumps(in_process_app(in_flight=args.in_flight, tuned=tuned)))
        return
    if args.in_process:
        print(json.dumps(in_process()))
        return
    env = dict(item.split("=", 1) for item in args.env)
    print(json.dumps(run(args.requests, args.rounds, args.workspaces, env)))


if __name__ == "__main__":
    main()
