"""`agentplane agent simulate`: N seed 000 agents in one process, each on its own NATS
connection, all online in the fleet; the JSON summary says so."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import httpx
import pytest

from agentplane.testing.system import RunningSystem, agentplane_command

pytestmark = pytest.mark.system


def test_simulated_fleet_comes_online(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    result = subprocess.run(
        [*agentplane_command(), "agent", "simulate", "--server", system.base_url,
         "--agents", "8", "--workspace-key", workspace["apiKey"],
         "--nats-url", system.nats_url, "--interval", "5"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["agents"] == 8 and summary["channel"] is True
    assert summary["connected"] == 8 and summary["heartbeat_failures"] == 0
    assert summary["seconds_until_all_online"] is not None
    assert summary["connect_rate_per_second"] > 0
    online = http.get("/v1/agents/online", headers={"x-api-key": workspace["apiKey"]}).json()
    assert len(online) == 8
    assert workspace["apiKey"] not in result.stdout + result.stderr
