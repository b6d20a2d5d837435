"""Who calls a seed 002 endpoint: the operator (workspace key) or one orchestrator agent.

- `x-api-key: <workspace key>`: the operator; every agent of the workspace.
- `Authorization: Bearer <agent JWT>`: that agent, only on its own `/api/v1/agents/{id}…`.
- A client certificate verified by the TLS terminator (mTLS port): that agent, likewise.
  When a bearer JWT comes with it, both must name the same agent.

Every agent credential is checked with the registry on every request (signature and expiry,
then not revoked, agent not deleted), so a deleted agent is shut out at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from agentplane.contracts.agents import AgentIdentity
from agentplane.contracts.errors import forbidden, not_found, unauthorized
from agentplane.contracts.orchestrator import (
    AuthenticateOrchestratorCertificate,
    AuthenticateOrchestratorToken,
)
from agentplane.contracts.subjects import Registry
from agentplane.gateway.auth import app_bus
from agentplane.gateway.client_certificates import verified_client_certificate
from agentplane.gateway.openapi import declares
from agentplane.gateway.rate_limits import enforce_agent_limit, enforce_workspace_limit

# Longer than any token this control plane issues: refused before a registry round trip.
MAX_TOKEN_LENGTH = 4096
NOT_AUTHORIZED = "Agent not authorized for this operation"
AGENT_NOT_FOUND = "Agent not found"
MISSING_CREDENTIALS = (
    "Missing credentials: x-api-key (workspace key), Authorization: Bearer <agent token>, "
    "or a client certificate"
)


@dataclass(frozen=True)
class OrchestratorCaller:
    """An authenticated caller; `agent_id` is None for the operator."""

    workspace_id: str
    agent_id: UUID | None = None

    def require_operator(self) -> None:
        if self.agent_id is not None:
            raise forbidden(NOT_AUTHORIZED)

    def target(self, raw_id: str) -> UUID:
        """The agent a path names, if this caller may act on it: 403 for another agent's
        endpoint when the caller is an agent, 404 for an id that cannot exist."""
        try:
            agent_id = UUID(raw_id)
        except ValueError:
            agent_id = None
        if self.agent_id is not None and agent_id != self.agent_id:
            raise forbidden(NOT_AUTHORIZED)
        if agent_id is None:
            raise not_found(AGENT_NOT_FOUND)
        return agent_id


async def _agent_by_token(request: Request, token: str) -> AgentIdentity:
    if len(token) > MAX_TOKEN_LENGTH:
        raise unauthorized("Invalid or expired token")
    data = await app_bus(request).request(
        Registry.ORCHESTRATOR_AUTHENTICATE_TOKEN, AuthenticateOrchestratorToken(token=token)
    )
    return AgentIdentity.model_validate(data)


async def _agent_by_certificate(request: Request) -> AgentIdentity | None:
    cert = verified_client_certificate(request)
    if cert is None:
        return None
    try:
        agent_id = UUID(cert.common_name)
    except ValueError:
        raise unauthorized("Client certificate does not name an agent") from None
    data = await app_bus(request).request(
        Registry.ORCHESTRATOR_AUTHENTICATE_CERT,
        AuthenticateOrchestratorCertificate(agent_id=agent_id, serial=cert.serial),
    )
    return AgentIdentity.model_validate(data)


@declares(
    {
        401: "Missing or invalid credentials",
        403: "The credential belongs to another agent than the one named",
        429: "The workspace's tier limit (workspace key) or the agent's own limit is spent",
    },
    headers=("x-api-key", "authorization"),
)
async def orchestrator_caller(request: Request) -> OrchestratorCaller:
    x_api_key = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization")
    if x_api_key:
        workspace = await request.app.state.workspace_keys.resolve(x_api_key)
        enforce_workspace_limit(request, workspace)
        return OrchestratorCaller(workspace_id=workspace.workspace_id)
    by_cert = await _agent_by_certificate(request)
    scheme, _, token = (authorization or "").strip().partition(" ")
    by_token = None
    if scheme.lower() == "bearer" and token.strip():
        by_token = await _agent_by_token(request, token.strip())
    elif authorization:
        raise unauthorized("Authorization must be: Bearer <agent token>")
    if by_cert and by_token and by_cert.agent_id != by_token.agent_id:
        raise forbidden("Token and client certificate belong to different agents")
    identity = by_cert or by_token
    if identity is None:
        raise unauthorized(MISSING_CREDENTIALS)
    enforce_agent_limit(request, identity.agent_id)
    return OrchestratorCaller(workspace_id=identity.workspace_id, agent_id=identity.agent_id)


Caller = Annotated[OrchestratorCaller, Depends(orchestrator_caller)]
