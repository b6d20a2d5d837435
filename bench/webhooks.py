"""Webhook delivery: transitions published into AP_EVENTS → signed POSTs at a local receiver.

A system with private targets allowed, one webhook of one workspace, a receiver on 127.0.0.1.
`--agents` agents get `--per-agent` transitions each, all published at once (the way a
lifecycle relay publishes a burst); measured: deliveries per second until the receiver has
every one, and the latency from each publish's stream ack to its arrival. Baseline of the same
run: the same number of POSTs of the same size straight at the receiver from one aiohttp
session with one request in flight per agent (what the scheduler allows: one per agent).

    .venv/bin/python -m bench.webhooks [--agents 50] [--per-agent 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import aiohttp
import httpx

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.events.lifecycle import AgentTransitioned
from agentplane.contracts.lifecycle_events import AGENT_TRANSITIONED
from agentplane.contracts.subjects import Events
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

ENV = {"AGENTPLANE_WEBHOOKS_ALLOW_PRIVATE": "true"}
STATES = ["NEW", "PROVISIONED", "ACTIVE", "UNHEALTHY", "ACTIVE", "DRAINING", "TERMINATED"]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many deliveries connect at once


class Arrivals:
    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()
        self.server: _Server | None = None

    def start(self) -> str:
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                tag = json.loads(body).get("data", {}).get("reason", "")
                with arrivals.lock:
                    arrivals.at.setdefault(tag, time.monotonic())
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


async def _publish(system: RunningSystem, ws_uuid: UUID, agents: int, per: int) -> dict[str, float]:
    acked: dict[str, float] = {}
    nc = await system.nats_connect()
    js = nc.jetstream()
    ids = [uuid.uuid4() for _ in range(agents)]
    futures = []
    for step in range(per):
        for agent in ids:
            tag = f"{agent.hex}:{step}"
            state = STATES[step % len(STATES)]
            t = AgentTransitioned(
                transition_id=tag, agent_id=agent, workspace_id=f"ws_{ws_uuid.hex}",
                agent_name="bench",
                from_state=None, to_state=state, event_type=state, triggered_by="system",
                reason=tag, at=datetime.now(UTC),
            )  # fmt: skip
            event = IntegrationEvent(
                id=f"bench:{tag}", app="lifecycle", position=0, type=AGENT_TRANSITIONED,
                aggregate_id=str(agent), aggregate_version=1, occurred_at=t.at,
                data=t.model_dump(mode="json"),
            )  # fmt: skip
            future = await js.publish_async(
                Events.subject("lifecycle", AGENT_TRANSITIONED),
                event.model_dump_json().encode(),
                headers={"Nats-Msg-Id": event.id},
            )
            futures.append((tag, future))
    for tag, future in futures:
        await future
        acked[tag] = time.monotonic()
    await nc.close()
    return acked


async def _baseline(url: str, agents: int, per: int, body: bytes) -> float:
    async with aiohttp.ClientSession() as session:

        async def one_agent() -> None:
            for _ in range(per):
                async with session.post(url, data=body) as response:
                    await response.read()

        started = time.monotonic()
        await asyncio.gather(*(one_agent() for _ in range(agents)))
        return agents * per / (time.monotonic() - started)


def run(agents: int = 50, per_agent: int = 10) -> dict[str, Any]:
    total = agents * per_agent
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        system = RunningSystem(Path(tmp) / "data", ENV).start()
        try:
            arrivals = Arrivals()
            url = arrivals.start()
            with httpx.Client(base_url=system.base_url, timeout=30.0) as http:
                ws = create_workspace(http, system.admin_token, "enterprise")
                created = http.post("/v1/webhooks", json={"url": url},
                                    headers={"x-api-key": ws["apiKey"]})  # fmt: skip
                assert created.status_code == 201, created.text
            ws_uuid = UUID(hex=ws["workspaceId"].removeprefix("ws_"))
            started = time.monotonic()
            acked = asyncio.run(_publish(system, ws_uuid, agents, per_agent))
            deadline = time.monotonic() + 600
            while len(arrivals.at) < total and time.monotonic() < deadline:
                time.sleep(0.05)
            elapsed = max(arrivals.at.values()) - started
            latencies = [arrivals.at[t] - acked[t] for t in acked if t in arrivals.at]
            delivered = len(arrivals.at)
            # About the size of a delivery's body.
            sample = json.dumps({"event": "agent.created", "data": {"reason": "x" * 300}})
            baseline = asyncio.run(_baseline(url, agents, per_agent, sample.encode()))
        finally:
            system.stop()
    return {
        "webhook_deliveries": delivered,
        "webhook_deliveries_per_s": round(delivered / elapsed, 1),
        "webhook_latency_p50_s": round(_p(latencies, 0.5), 3),
        "webhook_latency_p99_s": round(_p(latencies, 0.99), 3),
        "direct_posts_per_s": round(baseline, 1),
        "webhook_vs_direct": round(delivered / elapsed / baseline, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--per-agent", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(run(args.agents, args.per_agent)))


if __name__ == "__main__":
    main()
