"""Failures around the agent, on a system of its own: kill -9 of the agent (offline after the
missed-beat threshold; the next start reports its `reconnect_reason`), and kill -9 of NATS and
the registry (auth callout) together: the agent reconnects with no operator action. The system
has 1 s device beats (the agent learns the interval from a `config` hub message)."""

from __future__ import annotations

import asyncio
import os
import signal
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


@pytest.fixture(scope="module")
def fast(system_factory: Callable[..., RunningSystem]) -> RunningSystem:
    # The seed 000 interval too: no offline decision is made before one of its intervals
    # (plus grace) has passed since the heartbeat service started.
    return system_factory(
        {
            "AGENTPLANE_DEVICE_HEARTBEAT_INTERVAL_SECONDS": "1",
            "AGENTPLANE_HEARTBEAT_INTERVAL_SECONDS": "1",
        }
    )


def test_kill_9_goes_offline_and_the_next_start_reports_its_reconnect(
    fast: RunningSystem, tmp_path: Path
) -> None:
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


def test_the_channel_comes_back_after_nats_and_the_registry_are_killed(
    fast: RunningSystem, tmp_path: Path
) -> None:
    agent = AgentProcess(tmp_path / "state", tmp_path / "agent.log")
    try:
        with httpx.Client(base_url=fast.base_url, timeout=30.0) as http:
            ws = create_workspace(http, fast.admin_token)
            agent.start("--server", fast.base_url, "--enrollment-token",
                        enrollment_token(http, ws))  # fmt: skip
            wait_for(lambda: "channel connected (1)" in agent.log(), 15, "channel")
            agent_id = agent.identity()["agent_id"]
            # Both at once: while the registry restarts, NATS refuses the agent (no callout).
            registry = fast.signal_service("registry", signal.SIGKILL)
            os.kill(fast.runtime()["nats_pid"], signal.SIGKILL)
            fast.wait_restarted("registry", registry)
            wait_for(lambda: "channel connected (2)" in agent.log(), 60, "channel reconnected")

            async def served() -> None:
                async with Hub(fast, agent_id) as hub:
                    await hub.until_subscribed()
                    await hub.send("command", {"command_id": "c1", "action": "status",
                                               "expires_at": "2999-01-01T00:00:00Z"})  # fmt: skip
                    assert (await hub.wait("result"))[0]["outcome"] == "succeeded"

            asyncio.run(served())
            assert agent.proc is not None and agent.proc.poll() is None
            assert agent.interrupt() < 2.0
    finally:
        agent.kill()
