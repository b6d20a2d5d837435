"""Who gets onto the bus: agents with their own credential of any dialect, nobody anonymous."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from tests.nats_auth.agents import (
    connect_agent,
    refused,
    seed000_agent,
    seed002_agent,
    seed003_agent,
)

from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


async def test_anonymous_clients_are_refused_at_the_runtime_json_url(
    system: RunningSystem,
) -> None:
    # runtime.json names the URL and no credential: the URL alone gets nobody in.
    url = system.runtime()["nats_url"]
    assert "@" not in url
    assert "Authorization Violation" in await refused(url)
    assert "Authorization Violation" in await refused(url, user="", password="")


async def test_wrong_and_missing_passwords_are_refused(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = seed000_agent(http, workspace)
    url = system.nats_url
    await refused(url, user=agent_id, password=token + "x")
    await refused(url, user=agent_id)
    await refused(url, user=agent_id, password="")
    # The right token under another (unknown) agent id, or a user that is no agent id.
    await refused(url, user=str(uuid.uuid4()), password=token)
    await refused(url, user="ap.>", password=token)
    # The service user's name with an agent's token is no service credential.
    await refused(url, user="agentplane", password=token)


@pytest.mark.parametrize(
    "make_agent",
    [seed000_agent, seed003_agent, seed002_agent],
    ids=["seed000-token", "seed003-device-key", "seed002-jwt"],
)
async def test_each_dialects_credential_admits_its_agent(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any], make_agent: Any
) -> None:
    agent_id, credential = make_agent(http, workspace)
    agent = await connect_agent(system.nats_url, agent_id, credential)
    try:
        assert agent.nc.is_connected
        await agent.nc.flush()
    finally:
        await agent.nc.close()


async def test_a_credential_only_admits_its_own_agent(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    mine, _ = seed002_agent(http, workspace)
    other, jwt = seed002_agent(http, workspace)
    device, key = seed003_agent(http, workspace)
    url = system.nats_url
    await refused(url, user=mine, password=jwt)
    await refused(url, user=mine, password=key)
    # A device key is no seed 000 token even though both sit in the same place.
    await refused(url, user=other, password=key)
    assert device != other
