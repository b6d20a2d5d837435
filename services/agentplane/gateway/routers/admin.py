"""Operator endpoints: workspaces."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agentplane.contracts.subjects import Registry
from agentplane.contracts.workspaces import CreateWorkspace, WorkspaceCreated
from agentplane.gateway.auth import Admin, Bus

router = APIRouter(tags=["admin"])


@router.post("/v1/admin/workspaces", status_code=201)
async def create_workspace(body: CreateWorkspace, bus: Bus, _: Admin) -> dict[str, Any]:
    created = WorkspaceCreated.model_validate(await bus.request(Registry.WORKSPACE_CREATE, body))
    return {
        "workspaceId": created.workspace_id,
        "workspaceName": created.workspace_name,
        "tier": created.tier.value,
        "apiKey": created.api_key,
    }
