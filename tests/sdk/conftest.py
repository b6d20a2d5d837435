"""SDK clients against the session's running system, each on a fresh workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import pytest

from agentplane.contracts.http.operator import NewWorkspace
from agentplane.sdk import AsyncClient, Client
from agentplane.testing.system import RunningSystem


@pytest.fixture
async def admin(system: RunningSystem) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(system.base_url, admin_token=system.admin_token, timeout=30.0) as c:
        yield c


@pytest.fixture
async def new_workspace(admin: AsyncClient) -> NewWorkspace:
    return await admin.workspaces.create(f"sdk-{uuid4().hex[:10]}", "free")


@pytest.fixture
async def client(system: RunningSystem, new_workspace: NewWorkspace) -> AsyncIterator[AsyncClient]:
    """A workspace operator's async client."""
    async with AsyncClient(system.base_url, api_key=new_workspace.api_key, timeout=30.0) as c:
        yield c


@pytest.fixture
def sync_client(system: RunningSystem, new_workspace: NewWorkspace) -> Iterator[Client]:
    """The same operator's sync client."""
    with Client(system.base_url, api_key=new_workspace.api_key, timeout=30.0) as c:
        yield c
