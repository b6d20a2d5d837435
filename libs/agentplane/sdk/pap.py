"""Seed 004, PAP agents (`/api/agents…`, `Authorization: Bearer <workspace key>`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentplane.contracts.http.pap import (
    AgentExport,
    CreateAgentBody,
    ExportBody,
    HeartbeatMode,
    ManagedAgent,
    ManagedAgentCreated,
    ManagedAgentDetails,
    ManagedAgentTerminated,
    PapHeartbeatBody,
    PapMetricsBody,
    Recorded,
)
from agentplane.contracts.pap import PapResources
from agentplane.sdk.agents import AgentId
from agentplane.sdk.calls import Auth, Call, model, models, path
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced

BEARER = Auth.BEARER_API_KEY


class AsyncPap(Resource):
    """Managed agents: create, list, details, delete, heartbeat, metrics, export."""

    async def list(self) -> list[ManagedAgent]:
        """Every agent of the workspace."""
        return await self._t.send(Call("GET", "/api/agents", models(ManagedAgent), auth=BEARER))

    async def create(
        self,
        name: str,
        *,
        description: str | None = None,
        image: str | None = None,
        resources: PapResources | Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ManagedAgentCreated:
        """Deploy a new agent (state NEW); the name must be a DNS label."""
        body = CreateAgentBody.model_validate(
            {"name": name, "description": description, "image": image, "resources": resources}
        )
        return await self._t.send(
            Call(
                "POST",
                "/api/agents",
                model(ManagedAgentCreated),
                body=body,
                auth=BEARER,
                idempotency_key=idempotency_key,
            )
        )

    async def get(self, agent_uuid: AgentId) -> ManagedAgentDetails:
        """The agent with recent heartbeats, metrics and its lifecycle events."""
        return await self._t.send(
            Call("GET", path("/api/agents/{}", agent_uuid), model(ManagedAgentDetails), auth=BEARER)
        )

    async def delete(self, agent_uuid: AgentId) -> ManagedAgentTerminated:
        """Terminate the agent (it stays listed, state TERMINATED)."""
        return await self._t.send(
            Call(
                "DELETE",
                path("/api/agents/{}", agent_uuid),
                model(ManagedAgentTerminated),
                auth=BEARER,
            )
        )

    async def heartbeat(
        self, agent_uuid: AgentId, mode: HeartbeatMode, uptime_seconds: float
    ) -> Recorded:
        """Liveness only: mode (EMERGENCY, IDLE, SLEEP) and uptime."""
        body = PapHeartbeatBody(mode=mode, uptime_seconds=uptime_seconds)
        return await self._t.send(
            Call(
                "POST",
                path("/api/agents/{}/heartbeat", agent_uuid),
                model(Recorded),
                body=body,
                auth=BEARER,
                idempotent=True,
            )
        )

    async def metrics(
        self,
        agent_uuid: AgentId,
        cpu_percent: float,
        memory_mb: float,
        requests_handled: int,
        custom_metrics: Mapping[str, Any] | None = None,
    ) -> Recorded:
        """Resource telemetry, sent apart from heartbeats."""
        body = PapMetricsBody(
            cpu_percent=cpu_percent,
            memory_mb=memory_mb,
            requests_handled=requests_handled,
            custom_metrics=dict(custom_metrics) if custom_metrics is not None else None,
        )
        return await self._t.send(
            Call(
                "POST",
                path("/api/agents/{}/metrics", agent_uuid),
                model(Recorded),
                body=body,
                auth=BEARER,
            )
        )

    async def export(
        self, agent_uuid: AgentId, include_telemetry: bool = True, telemetry_limit: int = 100
    ) -> AgentExport:
        """The agent's complete data, telemetry included (for backup or analysis)."""
        body = ExportBody(include_telemetry=include_telemetry, telemetry_limit=telemetry_limit)
        return await self._t.send(
            Call(
                "POST",
                path("/api/agents/{}/export", agent_uuid),
                model(AgentExport),
                body=body,
                auth=BEARER,
                # Reading: exporting twice exports the same data.
                idempotent=True,
            )
        )


class Pap(Resource):
    """Sync twin of `AsyncPap`."""

    list = synced(AsyncPap.list)
    create = synced(AsyncPap.create)
    get = synced(AsyncPap.get)
    delete = synced(AsyncPap.delete)
    heartbeat = synced(AsyncPap.heartbeat)
    metrics = synced(AsyncPap.metrics)
    export = synced(AsyncPap.export)
