"""`agentplane nats-credentials`: the read-only observer, and the service credential."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import nats
import pytest
from nats.aio.msg import Msg
from tests.nats_auth.agents import connect_agent, eventually

from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events, Registry, Telemetry
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


def credentials(system: RunningSystem, role: str) -> dict[str, Any]:
    result = system.cli("nats-credentials", "--role", role)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert set(printed) == {"url", "user", "password"}
    assert printed["url"] == system.nats_url
    return dict(printed)


async def test_the_observer_reads_events_and_telemetry_and_publishes_nothing(
    system: RunningSystem, http: httpx.Client
) -> None:
    observer = credentials(system, "observer")
    assert observer["user"] == "observer"
    client = await connect_agent(observer["url"], "observer", observer["password"])
    try:
        events: list[Msg] = []

        async def collect(msg: Msg) -> None:
            events.append(msg)

        await client.nc.subscribe(Events.ALL, cb=collect)
        await client.nc.subscribe(Telemetry.ALL)
        await client.nc.flush()
        created = await asyncio.to_thread(create_workspace, http, system.admin_token)
        assert await eventually(
            lambda: any(created["workspaceName"].encode() in m.data for m in events), 5.0
        ), "the observer saw no event of the new workspace"

        await client.nc.publish(Events.subject("registry", "forged"), b"{}")
        await client.nc.subscribe(Registry.AGENT_LIST)
        await client.nc.publish(f"$JS.API.STREAM.DELETE.{EVENTS_STREAM}", b"")
        await client.nc.flush()
        assert len(await client.violations(3)) == 3
        # Reading events and telemetry raised nothing.
        assert not any("ap.events.>" in e or "ap.telemetry" in e for e in client.errors)
    finally:
        await client.nc.close()


async def test_the_service_credential_is_the_services_own(system: RunningSystem) -> None:
    service = credentials(system, "service")
    assert service["user"] == "agentplane"
    nc = await nats.connect(service["url"], user=service["user"], password=service["password"])
    try:
        info = await nc.jetstream().stream_info(EVENTS_STREAM)
        assert info.config.name == EVENTS_STREAM
    finally:
        await nc.close()


def test_an_unknown_role_is_refused(system: RunningSystem) -> None:
    result = system.cli("nats-credentials", "--role", "admin")
    assert result.returncode != 0
    assert result.stdout == ""
