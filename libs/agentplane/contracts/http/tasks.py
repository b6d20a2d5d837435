"""The operator side of tasks (DESIGN §1): create, read and cancel a task of an agent."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import AliasChoices, Field

from agentplane.contracts.http.base import CamelModel
from agentplane.contracts.http.orchestrator import TaskLog


class CreateTaskBody(CamelModel):
    """`POST /api/v1/agents/{id}/tasks` (workspace key)."""

    task_type: str = Field(min_length=1, max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, str] | None = None
    priority: int | None = None
    timeout: int | None = Field(default=None, ge=1)


class TaskState(CamelModel):
    """A task: its state, progress, logs and, once finished, its result."""

    task_id: str = Field(validation_alias=AliasChoices("taskId", "task_id", "id"))
    agent_id: UUID | None = None
    task_type: str | None = None
    status: str | None = None
    priority: int | None = None
    timeout: int | None = None
    progress: float | None = None
    payload: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    logs: list[TaskLog] = Field(default_factory=list)
    created_at: datetime | None = None
    completed_at: datetime | None = None
