"""Registration storm against a no-op request through the same gateway, bus and service.

- `echo_per_s`: `GET /health/registry` — the gateway asks the registry's ping subject over
  NATS and answers; no work besides transport (the same route shape a registration takes).
- `register_storm_per_s`: `STORM` seed 000 registrations (`POST /v1/agents/register`, each a
  new agent id), all sent at once on `STORM` keep-alive connections.
- Echo is measured with the same generator, the same connection count and request count, so
  the ratio compares like with like. Target ratio ≥ 0.5.

    .venv/bin/python -m bench.register_storm [--storm 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import httpx

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

STORM = 5000


def load(port: int, specs: list[list[Any]], count: int, conns: int) -> dict[str, Any]:
    """Run `bench.http_load` in its own process (the client must not share our GIL)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
        json.dump(specs, handle)
        handle.flush()
        out = subprocess.run(
            [sys.executable, "-m", "bench.http_load", str(port), handle.name, str(count),
             str(conns)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    return dict(json.loads(out.stdout))


def registrations(api_key: str, count: int) -> list[list[Any]]:
    key = {"x-api-key": api_key}
    return [
        [
            "POST",
            "/v1/agents/register",
            json.dumps({"agentId": str(uuid4()), "token": "agent_tok_" + uuid4().hex * 2}),
            key,
        ]
        for _ in range(count)
    ]


def measure(system: RunningSystem, api_key: str, storm: int, rounds: int) -> dict[str, Any]:
    port = urlsplit(system.base_url).port or 80
    echo_spec = [["GET", "/health/registry", "", {}]]
    # Warm-up: connections, caches, the workspace key.
    load(port, echo_spec, 500, 32)
    load(port, registrations(api_key, 200), 200, 32)
    echoes: list[float] = []
    storms: list[float] = []
    failed = 0
    statuses: dict[str, int] = {}
    for round_no in range(rounds):
        runs = ["echo", "storm"] if round_no % 2 == 0 else ["storm", "echo"]
        for run in runs:
            if run == "echo":
                echoes.append(load(port, echo_spec, storm, storm)["per_s"])
            else:
                result = load(port, registrations(api_key, storm), storm, storm)
                storms.append(result["per_s"])
                failed += int(result["failed"])
                for status, n in result["statuses"].items():
                    statuses[status] = statuses.get(status, 0) + n
    paired = [s / e for s, e in zip(storms, echoes, strict=True)]
    return {
        "echo_per_s": round(statistics.median(echoes), 1),
        "register_storm_per_s": round(statistics.median(storms), 1),
        "register_storm_failed": failed,
        "register_storm_statuses": statuses,
        "register_storm_ratio_to_echo": round(statistics.median(paired), 3),
        "register_storm_rounds": {
            "echo": [round(r) for r in echoes],
            "storm": [round(r) for r in storms],
        },
    }


def run(storm: int = STORM, rounds: int = 3) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        system = RunningSystem(Path(tmp) / "data", {"AGENTPLANE_LOG_LEVEL": "WARNING"}).start()
        try:
            with httpx.Client(base_url=system.base_url, timeout=30) as client:
                api_key = create_workspace(client, system.admin_token, tier="enterprise")["apiKey"]
            return measure(system, api_key, storm, rounds)
        finally:
            system.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storm", type=int, default=STORM)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.storm, args.rounds)))
