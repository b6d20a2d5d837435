"""Seed 002 over mTLS through the SDK: the registration's certificate alone identifies the agent."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import pytest

from agentplane.sdk import AsyncClient, Forbidden
from agentplane.sdk.tls import agent_ssl_context
from agentplane.testing.system import RunningSystem, free_port

pytestmark = pytest.mark.system


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on TLS port {port}")


async def test_certificate_authenticates_the_agent(
    system_factory: Callable[..., RunningSystem], tmp_path: Path
) -> None:
    port = free_port()
    system = system_factory(env={"AGENTPLANE_TLS_PORT": str(port)})
    wait_listening(port)
    async with AsyncClient(system.base_url, admin_token=system.admin_token) as admin:
        ws = await admin.workspaces.create(f"sdk-tls-{uuid4().hex[:8]}")
    async with AsyncClient(system.base_url, api_key=ws.api_key) as operator:
        token = await operator.enrollment_tokens.create("registration")
        agent = await operator.orchestrator.register(token.token, "tls-agent", "1.0.0")
        other = await operator.orchestrator.register(
            (await operator.enrollment_tokens.create("registration")).token, "tls-other", "1.0.0"
        )
    cert = agent.certificate
    context = agent_ssl_context(cert.ca, cert.cert, cert.key, tmp_path / "agent")
    assert (tmp_path / "agent" / "agent.key").stat().st_mode & 0o077 == 0
    async with AsyncClient(f"https://127.0.0.1:{port}", verify=context) as tls:
        assert (await tls.orchestrator.get(agent.agent_id)).name == "tls-agent"
        answer = await tls.orchestrator.heartbeat(agent.agent_id, {"status": "healthy"})
        assert answer.tasks == []
        with pytest.raises(Forbidden):
            await tls.orchestrator.get(other.agent_id)
        assert (await tls.health.check()).status == "ok"
