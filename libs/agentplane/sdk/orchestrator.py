"""Seed 002, orchestrator agents (`/api/v1/agents…`).

Registration takes the one-time token (`X-Agent-Token`). Every other call is made either by
the operator (the client's workspace key) or by the agent itself: pass `token=` (its JWT,
sent as a bearer token), or build the client with `cert=` on the mTLS port.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentplane.contracts.http.orchestrator import (
    Acknowledged,
    CompleteTaskBody,
    Deleted,
    HeartbeatAnswer,
    HeartbeatBody,
    OrchestratorAgent,
    OrchestratorAgentDetails,
    OrchestratorRegistration,
    PendingTasks,
    RegisterBody,
    TaskLog,
    UpdateBody,
)
from agentplane.sdk.agents import AgentId
from agentplane.sdk.calls import Auth, Call, model, models, path
from agentplane.sdk.credentials import bearer
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced


def _as(token: str | None) -> dict[str, Any]:
    """The agent's own bearer token, or the operator's workspace key."""
    return {"auth": Auth.NONE, "headers": bearer(token)} if token else {"auth": Auth.API_KEY}


class AsyncOrchestrator(Resource):
    """Orchestrator agents: registration, lifecycle, heartbeat and tasks."""

    async def register(
        self,
        registration_token: str,
        name: str,
        version: str,
        capabilities: Sequence[str] = (),
        labels: Mapping[str, str] | None = None,
    ) -> OrchestratorRegistration:
        """Register with a one-time token; the answer holds the JWT, certificate and key."""
        body = RegisterBody(
            name=name, version=version, capabilities=list(capabilities), labels=dict(labels or {})
        )
        return await self._t.send(
            Call(
                "POST",
                "/api/v1/agents/register",
                model(OrchestratorRegistration),
                body=body,
                auth=Auth.NONE,
                headers={"X-Agent-Token": registration_token},
            )
        )

    async def list(
        self, status: str | None = None, capability: str | None = None, *, token: str | None = None
    ) -> list[OrchestratorAgent]:
        """Orchestrator agents, filtered by status (online, offline, degraded) or capability."""
        return await self._t.send(
            Call(
                "GET",
                "/api/v1/agents",
                models(OrchestratorAgent),
                params={"status": status, "capability": capability},
                **_as(token),
            )
        )

    async def get(self, agent_id: AgentId, *, token: str | None = None) -> OrchestratorAgentDetails:
        """Full details of one agent."""
        return await self._t.send(
            Call(
                "GET",
                path("/api/v1/agents/{}", agent_id),
                model(OrchestratorAgentDetails),
                **_as(token),
            )
        )

    async def update(
        self,
        agent_id: AgentId,
        labels: Mapping[str, str] | None = None,
        capabilities: Sequence[str] | None = None,
        *,
        token: str | None = None,
    ) -> OrchestratorAgentDetails:
        """Replace labels and/or capabilities."""
        body = UpdateBody(
            labels=dict(labels) if labels is not None else None,
            capabilities=list(capabilities) if capabilities is not None else None,
        )
        return await self._t.send(
            Call(
                "PUT",
                path("/api/v1/agents/{}", agent_id),
                model(OrchestratorAgentDetails),
                body=body,
                **_as(token),
            )
        )

    async def delete(self, agent_id: AgentId, *, token: str | None = None) -> Deleted:
        """Revoke the agent's credentials and remove its registration."""
        return await self._t.send(
            Call("DELETE", path("/api/v1/agents/{}", agent_id), model(Deleted), **_as(token))
        )

    async def heartbeat(
        self,
        agent_id: AgentId,
        body: HeartbeatBody | Mapping[str, Any],
        *,
        token: str | None = None,
    ) -> HeartbeatAnswer:
        """The agent's heartbeat; the answer carries pending tasks and certificate renewal."""
        return await self._t.send(
            Call(
                "POST",
                path("/api/v1/agents/{}/heartbeat", agent_id),
                model(HeartbeatAnswer),
                body=body,
                idempotent=True,
                **_as(token),
            )
        )

    async def pending_tasks(self, agent_id: AgentId, *, token: str | None = None) -> PendingTasks:
        """Pending tasks (the alternative to the heartbeat for polling)."""
        return await self._t.send(
            Call(
                "GET", path("/api/v1/agents/{}/tasks", agent_id), model(PendingTasks), **_as(token)
            )
        )

    async def complete_task(
        self,
        agent_id: AgentId,
        task_id: str,
        success: bool,
        result: Mapping[str, Any] | None = None,
        logs: Sequence[TaskLog | Mapping[str, Any]] = (),
        *,
        token: str | None = None,
    ) -> Acknowledged:
        """Report a task's completion with its result and logs."""
        body = CompleteTaskBody.model_validate(
            {
                "success": success,
                "result": dict(result or {}),
                "logs": [
                    log.model_dump(by_alias=True) if isinstance(log, TaskLog) else dict(log)
                    for log in logs
                ],
            }
        )
        return await self._t.send(
            Call(
                "POST",
                path("/api/v1/agents/{}/tasks/{}/complete", agent_id, task_id),
                model(Acknowledged),
                body=body,
                # A task completes once; reporting it again changes nothing.
                idempotent=True,
                **_as(token),
            )
        )


class Orchestrator(Resource):
    """Sync twin of `AsyncOrchestrator`."""

    register = synced(AsyncOrchestrator.register)
    list = synced(AsyncOrchestrator.list)
    get = synced(AsyncOrchestrator.get)
    update = synced(AsyncOrchestrator.update)
    delete = synced(AsyncOrchestrator.delete)
    heartbeat = synced(AsyncOrchestrator.heartbeat)
    pending_tasks = synced(AsyncOrchestrator.pending_tasks)
    complete_task = synced(AsyncOrchestrator.complete_task)
