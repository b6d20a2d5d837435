"""Seed 000, the canonical agents API (`/v1/agents…`, workspace key in `x-api-key`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from agentplane.contracts.agents import ClientType
from agentplane.contracts.http.agents import (
    AgentDetails,
    AgentHeartbeatBody,
    AgentsByCapability,
    AgentSummary,
    AuditLogs,
    CapabilitiesBody,
    CapabilitiesSet,
    CapabilityBody,
    ExpiringTokens,
    OrchestrationView,
    ProvisionBody,
    ProvisionedAgent,
    RegisterBody,
    Registration,
    RotatedToken,
    RotateTokenBody,
)
from agentplane.contracts.http.base import Success
from agentplane.contracts.http.operator import KeyRotation
from agentplane.sdk.calls import Auth, Call, model, models, path
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced

AgentId = UUID | str


class AsyncAgents(Resource):
    """Agents of the client's workspace, and the agent-side token calls."""

    async def provision(
        self,
        client_type: ClientType | str,
        *,
        label: str | None = None,
        name: str | None = None,
        ttl_seconds: int = 7200,
        idempotency_key: str | None = None,
    ) -> ProvisionedAgent:
        """A short-lived agent token for an AI runtime (the token is shown once)."""
        body = ProvisionBody.model_validate(
            {"clientType": client_type, "label": label, "name": name, "ttlSeconds": ttl_seconds}
        )
        return await self._t.send(
            Call(
                "POST",
                "/v1/agents/provision",
                model(ProvisionedAgent),
                body=body,
                idempotency_key=idempotency_key,
            )
        )

    async def register(
        self,
        agent_id: AgentId,
        token: str,
        *,
        label: str | None = None,
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> Registration:
        """Register an agent with a pre-generated token (at least 32 characters)."""
        body = RegisterBody.model_validate(
            {"agentId": agent_id, "token": token, "label": label, "name": name}
        )
        return await self._t.send(
            Call(
                "POST",
                "/v1/agents/register",
                model(Registration),
                body=body,
                idempotency_key=idempotency_key,
            )
        )

    async def heartbeat(self, agent_id: AgentId, token: str) -> Success:
        """The agent's heartbeat (no workspace key: the token proves the agent)."""
        body = AgentHeartbeatBody.model_validate({"agentId": agent_id, "token": token})
        return await self._t.send(
            Call(
                "POST",
                "/v1/agents/heartbeat",
                model(Success),
                body=body,
                auth=Auth.NONE,
                idempotent=True,
            )
        )

    async def rotate_token(self, agent_id: AgentId, current_token: str) -> RotatedToken:
        """A new token for the current valid one (never repeated: the old one dies)."""
        body = RotateTokenBody.model_validate({"agentId": agent_id, "currentToken": current_token})
        return await self._t.send(
            Call("POST", "/v1/agents/rotate-token", model(RotatedToken), body=body, auth=Auth.NONE)
        )

    async def list(self) -> list[AgentSummary]:
        """Every agent of the workspace."""
        return await self._t.send(Call("GET", "/v1/agents", models(AgentSummary)))

    async def online(self) -> list[AgentSummary]:
        """Only the agents online now."""
        return await self._t.send(Call("GET", "/v1/agents/online", models(AgentSummary)))

    async def get(self, agent_id: AgentId) -> AgentDetails:
        """One agent with its capabilities and services."""
        return await self._t.send(Call("GET", path("/v1/agents/{}", agent_id), model(AgentDetails)))

    async def set_capabilities(
        self, agent_id: AgentId, capabilities: Sequence[CapabilityBody | Mapping[str, Any]]
    ) -> CapabilitiesSet:
        """Replace the agent's capability set (replacing twice is replacing once)."""
        body = CapabilitiesBody.model_validate(
            {
                "capabilities": [
                    c.model_dump() if isinstance(c, CapabilityBody) else dict(c)
                    for c in capabilities
                ]
            }
        )
        return await self._t.send(
            Call(
                "POST",
                path("/v1/agents/{}/capabilities", agent_id),
                model(CapabilitiesSet),
                body=body,
                idempotent=True,
            )
        )

    async def by_capability(self, name: str) -> AgentsByCapability:
        """Agents that have the named capability."""
        return await self._t.send(
            Call("GET", path("/v1/agents/by-capability/{}", name), model(AgentsByCapability))
        )

    async def orchestration(self) -> OrchestrationView:
        """Every agent with its capabilities and services."""
        return await self._t.send(Call("GET", "/v1/agents/orchestration", model(OrchestrationView)))

    async def expiring_tokens(self) -> ExpiringTokens:
        """Agents whose tokens expire soon."""
        return await self._t.send(Call("GET", "/v1/agents/expiring-tokens", model(ExpiringTokens)))

    async def audit_logs(self, agent_id: AgentId) -> AuditLogs:
        """The agent's security audit log."""
        return await self._t.send(
            Call("GET", path("/v1/agents/{}/audit-logs", agent_id), model(AuditLogs))
        )

    async def rotate_api_key(self, agent_id: AgentId) -> KeyRotation:
        """Start a server-initiated key rotation of a device agent (202): its next heartbeat
        answer carries `new_api_key`."""
        return await self._t.send(
            Call(
                "POST",
                path("/v1/agents/{}/api-key/rotate", agent_id),
                model(KeyRotation),
                # Asking again while a rotation waits is the same rotation.
                idempotent=True,
            )
        )


class Agents(Resource):
    """Sync twin of `AsyncAgents`."""

    provision = synced(AsyncAgents.provision)
    register = synced(AsyncAgents.register)
    heartbeat = synced(AsyncAgents.heartbeat)
    rotate_token = synced(AsyncAgents.rotate_token)
    list = synced(AsyncAgents.list)
    online = synced(AsyncAgents.online)
    get = synced(AsyncAgents.get)
    set_capabilities = synced(AsyncAgents.set_capabilities)
    by_capability = synced(AsyncAgents.by_capability)
    orchestration = synced(AsyncAgents.orchestration)
    expiring_tokens = synced(AsyncAgents.expiring_tokens)
    audit_logs = synced(AsyncAgents.audit_logs)
    rotate_api_key = synced(AsyncAgents.rotate_api_key)
