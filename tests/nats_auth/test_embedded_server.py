"""The embedded nats-server's generated credentials: private files, kept across restarts."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest
from tests.nats_auth.agents import connect_agent, refused, seed000_agent

from agentplane.security.nats_credentials import AUTH_DIR, CREDENTIALS_FILE, NATS_CONFIG_FILE
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_credentials_are_private_and_survive_a_restart(tmp_path: Path) -> None:
    running = RunningSystem(tmp_path / "data").start()
    try:
        auth = running.data_dir / AUTH_DIR
        assert mode(auth) == 0o700
        assert mode(auth / CREDENTIALS_FILE) == 0o600
        assert mode(auth / NATS_CONFIG_FILE) == 0o600
        before = json.loads((auth / CREDENTIALS_FILE).read_text())
        with httpx.Client(base_url=running.base_url, timeout=30) as http:
            workspace = create_workspace(http, running.admin_token)
            agent_id, token = seed000_agent(http, workspace)
        # Nothing secret in what the launcher tells the world.
        runtime = (running.data_dir / "runtime.json").read_text()
        for secret in before.values():
            assert secret not in runtime and secret not in running.log()
    finally:
        running.stop()

    running = RunningSystem(tmp_path / "data").start()
    try:
        assert json.loads((auth / CREDENTIALS_FILE).read_text()) == before
        service = await running.nats_connect()
        await service.close()
        agent = await connect_agent(running.nats_url, agent_id, token)
        await agent.nc.close()
        await refused(running.nats_url)
    finally:
        running.stop()
