"""The operator side of tasks (seeds 002 and 003): create, read, cancel (workspace key)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentplane.contracts.http.tasks import CreateTaskBody, TaskState
from agentplane.sdk.agents import AgentId
from agentplane.sdk.calls import Call, model, path
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced


class AsyncTasks(Resource):
    """Tasks of one agent, as the operator sees them."""

    async def create(
        self,
        agent_id: AgentId,
        task_type: str,
        payload: Mapping[str, Any] | None = None,
        *,
        credentials: Mapping[str, str] | None = None,
        priority: int | None = None,
        timeout: int | None = None,
        idempotency_key: str | None = None,
    ) -> TaskState:
        """Queue a task for the agent (delivered by heartbeat, poll or stream)."""
        body = CreateTaskBody.model_validate(
            {
                "taskType": task_type,
                "payload": dict(payload or {}),
                "credentials": dict(credentials) if credentials is not None else None,
                "priority": priority,
                "timeout": timeout,
            }
        )
        return await self._t.send(
            Call(
                "POST",
                path("/api/v1/agents/{}/tasks", agent_id),
                model(TaskState),
                body=body,
                idempotency_key=idempotency_key,
            )
        )

    async def get(self, agent_id: AgentId, task_id: str) -> TaskState:
        """A task's state, progress, logs and result."""
        return await self._t.send(
            Call("GET", path("/api/v1/agents/{}/tasks/{}", agent_id, task_id), model(TaskState))
        )

    async def cancel(self, agent_id: AgentId, task_id: str) -> TaskState:
        """Cancel a task that has not finished."""
        return await self._t.send(
            Call("DELETE", path("/api/v1/agents/{}/tasks/{}", agent_id, task_id), model(TaskState))
        )


class Tasks(Resource):
    """Sync twin of `AsyncTasks`."""

    create = synced(AsyncTasks.create)
    get = synced(AsyncTasks.get)
    cancel = synced(AsyncTasks.cancel)
