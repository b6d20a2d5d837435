"""Operator endpoints: workspaces."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agentplane.contracts.subjects import Registry
from agentplane.contracts.workspaces import CreateWorkspace, WorkspaceCreated
from agentplane.gateway.auth import Admin, Bus
from agentplane.gateway.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotency

router = APIRouter(tags=["admin"])


@router.post("/v1/admin/workspaces", status_code=201, responses=IDEMPOTENCY_RESPONSES)
async def create_workspace(
    body: CreateWorkspace, bus: Bus, _: Admin, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Create a workspace; its API key is shown once (again only to a retry with the same
    Idempotency-Key)."""
    cmd = body.model_copy(
        update={"idempotency": idempotency(idempotency_key, "admin", "workspaces.create", body)}
    )
    created = WorkspaceCreated.model_validate(await bus.request(Registry.WORKSPACE_CREATE, cmd))
    return {
        "workspaceId": created.workspace_id,
        "workspaceName": created.workspace_name,
        "tier": created.tier.value,
        "apiKey": created.api_key,
    }
