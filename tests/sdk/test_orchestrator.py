"""Seed 002 through the SDK: register, list/get/update/delete, heartbeat, agent-token access."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from agentplane.contracts.http.orchestrator import HeartbeatBody, ResourceUsage
from agentplane.contracts.http.orchestrator import OrchestratorRegistration as Registration
from agentplane.sdk import (
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
)

pytestmark = pytest.mark.system


async def registered(client: AsyncClient, name: str | None = None) -> Registration:
    token = await client.enrollment_tokens.create("registration")
    return await client.orchestrator.register(
        token.token,
        name or f"agent-{uuid4().hex[:8]}",
        "1.0.0",
        capabilities=["docker", "compose"],
        labels={"datacenter": "us-east-1", "role": "deployment"},
    )


async def test_register_doc_example(client: AsyncClient) -> None:
    done = await registered(client, "agent-prod-01")
    assert done.token and done.config.heartbeat_interval == 30
    assert done.config.task_poll_interval == 5 and done.config.log_level == "info"
    assert done.certificate.cert.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" in done.certificate.key and done.certificate.ca
    with pytest.raises(Conflict):
        await registered(client, "agent-prod-01")


async def test_used_registration_token_is_unauthorized(client: AsyncClient) -> None:
    token = await client.enrollment_tokens.create("registration")
    await client.orchestrator.register(token.token, f"a-{uuid4().hex[:6]}", "1.0.0")
    with pytest.raises(Unauthorized) as caught:
        await client.orchestrator.register(token.token, f"b-{uuid4().hex[:6]}", "1.0.0")
    assert caught.value.status == 401


async def test_list_get_update_heartbeat_delete(client: AsyncClient) -> None:
    done = await registered(client)
    listed = await client.orchestrator.list()
    assert [(a.id, a.status, a.capabilities) for a in listed] == [
        (done.agent_id, "offline", ["docker", "compose"])
    ]
    answer = await client.orchestrator.heartbeat(
        done.agent_id,
        HeartbeatBody(
            status="healthy",
            resource_usage=ResourceUsage(cpu=15.5, memory=45.2, disk=60.0),
            running_tasks=2,
        ),
        token=done.token,
    )
    assert answer.tasks == [] and answer.certificate_renewal is None
    # The usage comes from the telemetry channel: eventually the newest heartbeat's.
    for _ in range(50):
        details = await client.orchestrator.get(done.agent_id)
        if details.resource_usage:
            break
        await asyncio.sleep(0.1)
    assert details.status == "online"
    assert details.resource_usage == {"cpu": 15.5, "memory": 45.2, "disk": 60.0}
    assert details.labels == {"datacenter": "us-east-1", "role": "deployment"}
    assert [a.id for a in await client.orchestrator.list(status="online", capability="docker")] == [
        done.agent_id
    ]
    updated = await client.orchestrator.update(
        done.agent_id, labels={"datacenter": "us-west-2"}, capabilities=["docker", "ssh"]
    )
    assert updated.labels == {"datacenter": "us-west-2"} and updated.capabilities == [
        "docker",
        "ssh",
    ]
    own = await client.orchestrator.get(done.agent_id, token=done.token)
    assert own.id == done.agent_id
    assert (await client.orchestrator.delete(done.agent_id)).deleted is True
    with pytest.raises(NotFound):
        await client.orchestrator.get(done.agent_id)
    with pytest.raises(Unauthorized):
        await client.orchestrator.get(done.agent_id, token=done.token)


async def test_agent_token_is_limited_to_its_own_agent(client: AsyncClient) -> None:
    one, other = await registered(client), await registered(client)
    with pytest.raises(Forbidden) as caught:
        await client.orchestrator.get(other.agent_id, token=one.token)
    assert caught.value.status == 403 and caught.value.kind == "forbidden"
    with pytest.raises(Forbidden):
        await client.orchestrator.list(token=one.token)
    with pytest.raises(Forbidden):
        # The operator may not heartbeat on an agent's behalf.
        await client.orchestrator.heartbeat(one.agent_id, {"status": "healthy"})


async def test_invalid_bodies_are_bad_request_naming_the_field(client: AsyncClient) -> None:
    done = await registered(client)
    with pytest.raises(BadRequest) as caught:
        await client.orchestrator.heartbeat(done.agent_id, {"status": 5}, token=done.token)
    assert caught.value.details["fields"][0]["field"] == "status"
    with pytest.raises(BadRequest) as nothing:
        await client.orchestrator.update(done.agent_id)
    assert nothing.value.details == {"field": "body"}


def test_sync_client_registers_and_lists(sync_client: Client) -> None:
    token = sync_client.enrollment_tokens.create("registration")
    done = sync_client.orchestrator.register(token.token, f"sync-{uuid4().hex[:6]}", "2.0.0")
    assert sync_client.orchestrator.get(done.agent_id).version == "2.0.0"
    assert (
        sync_client.orchestrator.heartbeat(
            done.agent_id, {"status": "healthy"}, token=done.token
        ).tasks
        == []
    )
