"""Seed 000 through the SDK: provision, register, heartbeat, views, capabilities, tokens, audit."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from agentplane.contracts.http.agents import CapabilityBody
from agentplane.sdk import AsyncClient, BadRequest, Client, Conflict, NotFound, Unauthorized
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


async def registered(client: AsyncClient, name: str = "web-server-1") -> tuple[UUID, str]:
    agent_id, token = uuid4(), "agent_tok_" + secrets.token_hex(20)
    done = await client.agents.register(agent_id, token, label="production", name=name)
    assert done.success and done.agent.id == agent_id
    return agent_id, token


async def test_provision_doc_example(client: AsyncClient) -> None:
    provisioned = await client.agents.provision(
        "cursor", label="staging", name="cursor-agent-1", ttl_seconds=7200
    )
    assert isinstance(provisioned.agent_id, UUID) and provisioned.token
    assert 7100 < (provisioned.expires_at - datetime.now(UTC)).total_seconds() <= 7200
    assert provisioned.workspace_id and provisioned.workspace_name
    details = await client.agents.get(provisioned.agent_id)
    assert (details.name, details.label) == ("cursor-agent-1", "staging")
    assert details.workspace_id == provisioned.workspace_id


async def test_register_list_get_and_heartbeat(client: AsyncClient) -> None:
    agent_id, token = await registered(client)
    listed = await client.agents.list()
    assert [(a.id, a.name, a.label, a.is_online) for a in listed] == [
        (agent_id, "web-server-1", "production", False)
    ]
    assert await client.agents.online() == []
    assert (await client.agents.heartbeat(agent_id, token)).success is True
    for _ in range(50):
        online = await client.agents.online()
        if online:
            break
        await asyncio.sleep(0.1)
    assert [a.id for a in online] == [agent_id]
    details = await client.agents.get(agent_id)
    assert details.is_online and details.last_seen_at is not None
    assert details.capabilities == [] and details.services == []


async def test_register_twice_is_conflict(client: AsyncClient) -> None:
    agent_id, token = await registered(client)
    with pytest.raises(Conflict) as caught:
        await client.agents.register(agent_id, token)
    assert caught.value.status == 409 and caught.value.kind == "conflict"


async def test_capabilities_by_capability_and_orchestration(client: AsyncClient) -> None:
    agent_id, _ = await registered(client, "gpu-worker-1")
    result = await client.agents.set_capabilities(
        agent_id,
        [
            CapabilityBody(name="gpu", metadata={"model": "A100", "vram": "80GB"}),
            {"name": "high-memory", "metadata": {"ram": "256GB"}},
        ],
    )
    assert result.success and [c.name for c in result.capabilities] == ["gpu", "high-memory"]
    found = await client.agents.by_capability("gpu")
    assert [(a.id, a.name, a.capability.metadata["model"]) for a in found.agents] == [
        (agent_id, "gpu-worker-1", "A100")
    ]
    assert (await client.agents.by_capability("tpu")).agents == []
    view = await client.agents.orchestration()
    assert [a.id for a in view.agents] == [agent_id]
    assert {c.name for c in view.agents[0].capabilities} == {"gpu", "high-memory"}
    assert view.agents[0].services == []


async def test_rotate_token_expiring_tokens_and_audit(client: AsyncClient) -> None:
    provisioned = await client.agents.provision("custom", name="short", ttl_seconds=3600)
    rotated = await client.agents.rotate_token(provisioned.agent_id, provisioned.token)
    assert rotated.success and rotated.new_token != provisioned.token
    with pytest.raises(Unauthorized):
        await client.agents.rotate_token(provisioned.agent_id, provisioned.token)
    expiring = await client.agents.expiring_tokens()
    mine = [e for e in expiring.agents if e.id == provisioned.agent_id]
    assert mine and mine[0].name == "short" and mine[0].hours_until_expiry >= 0
    for _ in range(50):
        logs = (await client.agents.audit_logs(provisioned.agent_id)).logs
        if any(e.action == "token_rotated" for e in logs):
            break
        await asyncio.sleep(0.1)
    entry = next(e for e in logs if e.action == "token_rotated")
    assert entry.id and entry.timestamp
    assert provisioned.token not in str(entry.metadata)


async def test_typed_errors(client: AsyncClient, system: RunningSystem) -> None:
    with pytest.raises(NotFound) as caught:
        await client.agents.get(uuid4())
    assert caught.value.status == 404 and caught.value.message == "Agent not found"
    with pytest.raises(NotFound):
        await client.agents.audit_logs("not-a-uuid")
    async with AsyncClient(system.base_url, api_key="pc_wrong") as stranger:
        with pytest.raises(Unauthorized) as unauthorized:
            await stranger.agents.list()
    assert unauthorized.value.kind == "unauthorized"
    with pytest.raises(Unauthorized):
        await client.agents.heartbeat(uuid4(), "agent_tok_" + "0" * 32)


async def test_server_side_validation_is_bad_request_with_field_details(
    client: AsyncClient,
) -> None:
    # A URL scheme the server refuses though the client's model cannot know it.
    with pytest.raises(BadRequest) as caught:
        await client.releases.publish(
            version="2.1.0", url="ftp://example.com/agent.exe", sha256="3f" * 32
        )
    assert caught.value.status == 400 and caught.value.kind == "validation"
    assert caught.value.details, caught.value


def test_sync_client_lists_and_gets(sync_client: Client) -> None:
    agent_id, token = uuid4(), "agent_tok_" + secrets.token_hex(20)
    assert sync_client.agents.register(agent_id, token, name="sync-agent").success
    assert [a.id for a in sync_client.agents.list()] == [agent_id]
    assert sync_client.agents.get(agent_id).name == "sync-agent"
    assert sync_client.agents.heartbeat(agent_id, token).success
    with pytest.raises(NotFound):
        sync_client.agents.get(uuid4())
