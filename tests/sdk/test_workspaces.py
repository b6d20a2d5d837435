"""Operator endpoints through the SDK: workspaces (admin token) and enrollment tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from agentplane.sdk import AsyncClient, Client, Unauthorized
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


async def test_create_workspace_of_each_tier(admin: AsyncClient) -> None:
    for tier in ("free", "pro", "enterprise"):
        name = f"sdk-{tier}-{uuid4().hex[:8]}"
        created = await admin.workspaces.create(name, tier)
        assert (created.workspace_name, created.tier) == (name, tier)
        assert created.workspace_id and created.api_key


async def test_health(admin: AsyncClient) -> None:
    health = await admin.health.check()
    assert (health.status, health.nats) == ("ok", "ok")
    assert set(health.services.values()) == {"ok"} and health.missing == []


async def test_wrong_admin_token_is_unauthorized(system: RunningSystem) -> None:
    async with AsyncClient(system.base_url, admin_token="wrong") as c:
        with pytest.raises(Unauthorized) as caught:
            await c.workspaces.create("nope")
    assert caught.value.status == 401 and "admin token" in caught.value.message


async def test_registration_token(client: AsyncClient) -> None:
    token = await client.enrollment_tokens.create("registration")
    assert token.kind == "registration" and token.token
    hours = (token.expires_at - datetime.now(UTC)).total_seconds() / 3600
    assert 23.9 < hours <= 24


def test_sync_admin_and_key_errors(system: RunningSystem) -> None:
    with Client(system.base_url, admin_token=system.admin_token) as admin:
        created = admin.workspaces.create(f"sdk-sync-{uuid4().hex[:8]}", "pro")
    assert created.tier == "pro"
    with Client(system.base_url, api_key="pc_wrong") as c, pytest.raises(Unauthorized):
        c.enrollment_tokens.create()
