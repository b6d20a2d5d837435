"""Seed 004 authentication: `Authorization: Bearer <workspace key>`, then the tier's rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from agentplane.contracts.errors import ErrorKind, ServiceError, unauthorized
from agentplane.contracts.workspaces import WorkspaceIdentity
from agentplane.gateway.openapi import declares
from agentplane.gateway.rate_limits import enforce_rate_limit

UNAUTHORIZED = "Unauthorized"


@declares({401: "Missing or invalid workspace key"}, headers=("authorization",))
async def workspace_from_bearer(request: Request) -> WorkspaceIdentity:
    """The workspace whose API key is the bearer token; 401 `Unauthorized` otherwise."""
    authorization = request.headers.get("authorization")
    scheme, _, key = (authorization or "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise unauthorized(UNAUTHORIZED)
    try:
        workspace: WorkspaceIdentity = await request.app.state.workspace_keys.resolve(key)
    except ServiceError as exc:
        if exc.kind is ErrorKind.UNAUTHORIZED:
            # The document names one message for a missing and for an invalid key.
            raise unauthorized(UNAUTHORIZED) from None
        raise
    return workspace


@declares({429: "The workspace's tier limit is spent; X-RateLimit-Reset and Retry-After say when"})
async def rate_limited_workspace(
    request: Request, workspace: Annotated[WorkspaceIdentity, Depends(workspace_from_bearer)]
) -> WorkspaceIdentity:
    enforce_rate_limit(request, workspace)
    return workspace


BearerWorkspace = Annotated[WorkspaceIdentity, Depends(workspace_from_bearer)]
PapWorkspace = Annotated[WorkspaceIdentity, Depends(rate_limited_workspace)]
