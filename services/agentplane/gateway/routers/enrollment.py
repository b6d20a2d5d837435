"""Operator endpoint for one-time tokens: seed 002 registration and seed 003 enrollment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agentplane.contracts.agents import EnrollmentTokenIssued, IssueEnrollmentToken
from agentplane.contracts.http.operator import EnrollmentTokenBody
from agentplane.contracts.subjects import Registry
from agentplane.gateway.auth import Bus, Workspace
from agentplane.gateway.formats import iso_ms
from agentplane.gateway.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotency

router = APIRouter(tags=["enrollment tokens"])


@router.post("/v1/enrollment-tokens", status_code=201, responses=IDEMPOTENCY_RESPONSES)
async def issue(
    body: EnrollmentTokenBody, ws: Workspace, bus: Bus, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Issue a one-time token; it is shown once (again only to a retry with the same
    Idempotency-Key)."""
    cmd = IssueEnrollmentToken(
        workspace_id=ws.workspace_id,
        kind=body.kind,
        ttl_seconds=body.ttl_seconds,
        idempotency=idempotency(idempotency_key, ws.workspace_id, "enrollment_tokens.issue", body),
    )
    issued = EnrollmentTokenIssued.model_validate(
        await bus.request(Registry.ENROLLMENT_TOKEN_ISSUE, cmd)
    )
    return {
        "token": issued.token,
        "kind": issued.kind.value,
        "expiresAt": iso_ms(issued.expires_at),
    }
