"""Fixtures shared by the agent-channel e2e tests."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from tests.e2e.command_agent import ChannelAgent

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem


@pytest.fixture
async def agents() -> AsyncIterator[list[ChannelAgent]]:
    """Channel agents a test opens; closed when it ends."""
    opened: list[ChannelAgent] = []
    yield opened
    for agent in opened:
        await agent.client.nc.close()


@pytest.fixture(scope="session", autouse=True)
def expiring_token(system: RunningSystem) -> tuple[str, float]:
    """An enrollment token with the shortest lifetime (60 s) and when it was issued.

    Issued when the first e2e test starts, so by the time the seed 003 expiry test runs its
    lifetime has passed while other tests ran, instead of being slept out.
    """
    with httpx.Client(base_url=system.base_url, timeout=30.0) as client:
        ws = create_workspace(client, system.admin_token)
        response = client.post(
            "/v1/enrollment-tokens",
            json={"kind": "enrollment", "ttlSeconds": 60},
            headers={"x-api-key": ws["apiKey"]},
        )
    assert response.status_code == 201, response.text
    return str(response.json()["token"]), time.monotonic()
