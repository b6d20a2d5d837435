"""Seed 004 through the SDK: create, list, details, heartbeat, metrics, delete, rate limits."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from agentplane.contracts.http.operator import NewWorkspace
from agentplane.sdk import (
    NO_RETRIES,
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    NotFound,
    RateLimited,
    Unauthorized,
)
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


@pytest.fixture
async def pro(admin: AsyncClient, system: RunningSystem) -> AsyncClient:
    """A pro workspace's client: enough burst for a test's quick calls."""
    ws = await admin.workspaces.create(f"sdk-pro-{uuid4().hex[:8]}", "pro")
    return AsyncClient(system.base_url, api_key=ws.api_key, timeout=30.0)


async def test_create_doc_example_and_list(pro: AsyncClient) -> None:
    created = await pro.pap.create(
        "my-agent",
        description="My autonomous agent",
        resources={"cpu_request": "100m", "memory_request": "256Mi"},
    )
    agent = created.agent
    assert (agent.name, agent.state) == ("my-agent", "NEW")
    assert agent.dns_name.startswith("my-agent.")
    assert agent.kubernetes_namespace == "agents" and agent.kubernetes_deployment == "my-agent"
    assert agent.metadata["resources"]["cpu_limit"] == "1000m"
    # The test system has no provisioner: the answer says nothing was deployed.
    assert not created.deployment.success and created.deployment.deployment_name == "my-agent"
    assert "nothing was deployed" in created.deployment.message
    assert [a.uuid for a in await pro.pap.list()] == [agent.uuid]
    with pytest.raises(Conflict) as caught:
        await pro.pap.create("my-agent")
    assert caught.value.message == "Agent with this name already exists"


async def test_invalid_name_is_bad_request_with_the_field(pro: AsyncClient) -> None:
    with pytest.raises(BadRequest) as caught:
        await pro.pap.create("My_Agent")
    assert caught.value.message == "Name must be DNS-safe: lowercase alphanumeric and hyphens only"
    assert caught.value.details == {"field": "name"}
    with pytest.raises(BadRequest) as missing:
        await pro.pap.create("")
    assert missing.value.message == "Name is required"


async def test_heartbeat_metrics_details_and_delete(pro: AsyncClient) -> None:
    agent = (await pro.pap.create(f"a-{uuid4().hex[:8]}")).agent
    assert (await pro.pap.heartbeat(agent.uuid, "IDLE", 330)).message == "Heartbeat recorded"
    recorded = await pro.pap.metrics(
        agent.uuid, 12.5, 128, 45, {"queue_depth": 3, "cache_hit_rate": 0.85}
    )
    assert recorded.message == "Metrics recorded"
    for _ in range(50):
        details = await pro.pap.get(agent.uuid)
        if details.agent.state == "ACTIVE":
            break
        await asyncio.sleep(0.1)
    assert details.agent.state == "ACTIVE" and details.agent.last_heartbeat_at is not None
    assert [(h.mode, h.uptime_seconds) for h in details.recent_heartbeats] == [("IDLE", 330)]
    assert details.recent_metrics[0].custom_metrics == {"queue_depth": 3, "cache_hit_rate": 0.85}
    assert any(e.to_state == "ACTIVE" for e in details.lifecycle_events)
    assert details.kubernetes_status is None
    gone = await pro.pap.delete(agent.uuid)
    assert gone.message == "Agent terminated successfully" and not gone.kubernetes.success
    assert gone.kubernetes.message.endswith("had no deployed resources; nothing to delete")
    with pytest.raises(Conflict):
        await pro.pap.heartbeat(agent.uuid, "IDLE", 331)
    with pytest.raises(NotFound):
        await pro.pap.get(uuid4())


async def test_wrong_key_is_unauthorized(system: RunningSystem) -> None:
    async with AsyncClient(system.base_url, api_key="pc_wrong") as c:
        with pytest.raises(Unauthorized) as caught:
            await c.pap.list()
    assert caught.value.message == "Unauthorized"


async def test_rate_limit_is_typed_and_retried(
    system: RunningSystem, new_workspace: NewWorkspace
) -> None:
    """A free workspace's burst is 10 a second: the 11th call is 429 with Retry-After."""
    key = new_workspace.api_key
    async with AsyncClient(system.base_url, api_key=key, retry=NO_RETRIES) as strict:
        with pytest.raises(RateLimited) as caught:
            for _ in range(20):
                await strict.pap.list()
    assert caught.value.status == 429 and caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 60
    async with AsyncClient(system.base_url, api_key=key) as patient:
        assert await patient.pap.list() == []


def test_sync_client(system: RunningSystem, sync_client: Client) -> None:
    created = sync_client.pap.create(f"s-{uuid4().hex[:8]}")
    assert sync_client.pap.get(created.agent.uuid).agent.name == created.agent.name
    assert sync_client.pap.heartbeat(created.agent.uuid, "SLEEP", 1).message == "Heartbeat recorded"
