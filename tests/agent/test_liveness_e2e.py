"""kill -9: the agent goes offline after the missed-beat threshold; the next start comes back
online and its `reconnect_reason` is in the audit log. A system with 1 s device beats (the
agent learns the interval from a `config` hub message) keeps this short."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.agent.process import AgentProcess
from tests.agent.test_agent_e2e import Hub, enrollment_token, fleet_entry, reconnects, wait_for

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


def test_kill_9_goes_offline_and_the_next_start_reports_its_reconnect(
    system_factory: Callable[..., RunningSystem], tmp_path: Path
) -> None:
    # The seed 000 interval too: no offline decision is made before one of its intervals
    # (plus grace) has passed since the heartbeat service started.
    fast = system_factory(
        {
            "AGENTPLANE_DEVICE_HEARTBEAT_INTERVAL_SECONDS": "1",
            "AGENTPLANE_HEARTBEAT_INTERVAL_SECONDS": "1",
        }
    )
    agent = AgentProcess(tmp_path / "state", tmp_path / "agent.log")
    try:
        with httpx.Client(base_url=fast.base_url, timeout=30.0) as http:
            ws = create_workspace(http, fast.admin_token)
            agent.start("--server", fast.base_url, "--enrollment-token",
                        enrollment_token(http, ws), "--nats-url", fast.nats_url)  # fmt: skip
            agent_id = wait_for(
                lambda: (agent.state_dir / "identity.json").exists()
                and agent.identity()["agent_id"], 10, "identity",
            )  # fmt: skip

            async def beat_every_second() -> None:
                async with Hub(fast, agent_id) as hub:
                    await hub.until_subscribed()
                    ack = await hub.send("config", {"heartbeat_interval_seconds": 1.0})
                    assert ack["accepted"] is True

            asyncio.run(beat_every_second())

            def online() -> bool:
                entry: dict[str, Any] | None = fleet_entry(http, ws, agent_id)
                return bool(entry and entry["isOnline"])

            # Beating every second, it stays online well past the 3 s threshold.
            time.sleep(4.0)
            assert online()
            agent.kill()
            killed = time.monotonic()
            wait_for(lambda: not online(), 20, "offline after kill -9")
            assert time.monotonic() - killed >= 1.0

            agent.start("--server", fast.base_url, "--nats-url", fast.nats_url)
            wait_for(online, 10, "online again")
            found = wait_for(lambda: reconnects(http, ws, agent_id), 15, "reconnected entry")
            assert found[0]["metadata"]["reason"] == "service_restart"
            assert found[0]["metadata"]["processStartTime"]
            assert agent.interrupt() < 2.0
    finally:
        agent.kill()
