"""Fixtures shared by the agent-channel e2e tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.e2e.command_agent import ChannelAgent


@pytest.fixture
async def agents() -> AsyncIterator[list[ChannelAgent]]:
    """Channel agents a test opens; closed when it ends."""
    opened: list[ChannelAgent] = []
    yield opened
    for agent in opened:
        await agent.client.nc.close()
