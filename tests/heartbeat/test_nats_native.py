"""NATS-native heartbeats: `ap.hb.<agent_id>` with `{"token": …}`, same checks and effects as
the seed 000 HTTP heartbeat, credentials checked against a local cache of registry answers."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from tests.heartbeat.helpers import beat, eventually, listed, new_token, register, stats

from agentplane.contracts.liveness import TelemetryList, TelemetryQuery
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import Heartbeat
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


@pytest.fixture
async def nc(system: RunningSystem) -> AsyncIterator[Client]:
    client = await system.nats_connect()
    yield client
    await client.close()


@pytest.fixture
async def web(system: RunningSystem) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as client:
        yield client


async def test_a_beat_with_the_agents_token_brings_it_online(
    nc: Client, web: httpx.AsyncClient, workspace: dict[str, Any]
) -> None:
    agent_id, token = await register(web, workspace)
    assert (await listed(web, workspace, agent_id))["isOnline"] is False
    reply = await beat(nc, agent_id, {"token": token})
    assert reply.ok, reply
    assert reply.data is not None and reply.data["agent_id"] == agent_id
    agent = await listed(web, workspace, agent_id)
    assert agent["isOnline"] is True
    assert agent["lastSeenAt"] is not None
    online = (await web.get("/v1/agents/online", headers={"x-api-key": workspace["apiKey"]})).json()
    assert agent_id in {a["id"] for a in online}


async def test_a_beat_without_reply_subject_works_the_same(
    nc: Client, web: httpx.AsyncClient, workspace: dict[str, Any]
) -> None:
    agent_id, token = await register(web, workspace)
    await nc.publish(Heartbeat.native(agent_id), json.dumps({"token": token}).encode())
    await eventually(lambda: _assert_online(web, workspace, agent_id))


async def _assert_online(web: httpx.AsyncClient, workspace: dict[str, Any], agent_id: str) -> None:
    assert (await listed(web, workspace, agent_id))["isOnline"] is True


async def test_a_wrong_token_is_refused_and_the_agent_stays_offline(
    nc: Client, web: httpx.AsyncClient, workspace: dict[str, Any]
) -> None:
    agent_id, token = await register(web, workspace)
    other_id, other_token = await register(web, workspace)
    before = await stats(nc)
    for wrong in (new_token(), other_token, token + "x"):
        reply = await beat(nc, agent_id, {"token": wrong})
        assert not reply.ok and reply.error is not None
        assert reply.error.kind == "unauthorized"
    # Without a reply subject the beat is dropped and counted.
    await nc.publish(Heartbeat.native(agent_id), json.dumps({"token": "nope"}).encode())
    await eventually(lambda: _assert_more_rejected(nc, before.rejected + 4))
    assert (await listed(web, workspace, agent_id))["isOnline"] is False
    # An unknown agent with a well-formed id is refused the same way.
    reply = await beat(nc, str(uuid.uuid4()), {"token": token})
    assert reply.error is not None and reply.error.kind == "unauthorized"
    assert (await listed(web, workspace, other_id))["isOnline"] is False


async def _assert_more_rejected(nc: Client, at_least: int) -> None:
    assert (await stats(nc)).rejected >= at_least


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        (None, b"not json"),
        (None, b"[1, 2]"),
        ({}, None),
        ({"token": 42}, None),
        ({"token": ""}, None),
        ({"token": "t" * 513}, None),
        ({"token": "t", "padding": "x" * 5000}, None),
    ],
)
async def test_malformed_beats_get_validation_errors(
    nc: Client, body: Any, raw: bytes | None
) -> None:
    reply = await beat(nc, str(uuid.uuid4()), body, raw)
    assert not reply.ok and reply.error is not None
    assert reply.error.kind == "validation"


@pytest.mark.parametrize("agent_id", ["not-a-uuid", str(uuid.uuid4()).upper()])
async def test_the_subject_must_end_in_a_lowercase_agent_uuid(nc: Client, agent_id: str) -> None:
    reply = await beat(nc, agent_id, {"token": new_token()})
    assert reply.error is not None and reply.error.kind == "validation"


async def test_a_rotated_token_is_no_longer_trusted(
    nc: Client, web: httpx.AsyncClient, workspace: dict[str, Any]
) -> None:
    agent_id, token = await register(web, workspace)
    assert (await beat(nc, agent_id, {"token": token})).ok  # verified and cached
    rotated = await web.post(
        "/v1/agents/rotate-token", json={"agentId": agent_id, "currentToken": token}
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["newToken"]

    async def old_token_refused() -> None:
        reply = await beat(nc, agent_id, {"token": token})
        assert reply.error is not None and reply.error.kind == "unauthorized"

    # The registry's agent.TokenRotated event reaches the cache within moments.
    await eventually(old_token_refused, timeout=3)
    assert (await beat(nc, agent_id, {"token": new})).ok


async def test_http_and_nats_heartbeats_share_checks_and_cache(
    nc: Client, web: httpx.AsyncClient, workspace: dict[str, Any]
) -> None:
    agent_id, token = await register(web, workspace)
    response = await web.post("/v1/agents/heartbeat", json={"agentId": agent_id, "token": token})
    assert response.json() == {"success": True}
    before = await stats(nc)
    # The token the HTTP beat proved is trusted for the NATS beat: no registry round trip.
    assert (await beat(nc, agent_id, {"token": token})).ok
    after = await stats(nc)
    assert after.verifications == before.verifications
    assert after.accepted == before.accepted + 1
    # And a token refused over NATS is refused over HTTP too.
    assert (await beat(nc, agent_id, {"token": new_token()})).error is not None
    wrong = await web.post("/v1/agents/heartbeat", json={"agentId": agent_id, "token": new_token()})
    assert wrong.status_code == 401


async def test_the_beat_body_goes_to_telemetry_without_the_token(
    nc: Client, web: httpx.AsyncClient, workspace: dict[str, Any]
) -> None:
    agent_id, token = await register(web, workspace)
    for uptime in (10, 20, 30):
        assert (await beat(nc, agent_id, {"token": token, "uptime_seconds": uptime})).ok
    query = TelemetryQuery(agent_id=uuid.UUID(agent_id), kind="heartbeat", limit=2)

    async def newest_two_stored() -> None:
        # Beats are stored by the telemetry stream's consumer, after the beat was answered.
        msg = await nc.request(Heartbeat.TELEMETRY_RECENT, query.model_dump_json().encode(), 5)
        entries = TelemetryList.model_validate(Reply.model_validate_json(msg.data).data).entries
        assert [e.data for e in entries] == [{"uptime_seconds": 30}, {"uptime_seconds": 20}]
        assert entries[0].received_at >= entries[1].received_at
        assert token not in msg.data.decode()

    await eventually(newest_two_stored, timeout=20.0)
