"""Tasks over HTTP (seeds 002 and 003, and the operator's side of DESIGN §1).

The operator creates a task with `POST /api/v1/agents/{id}/tasks` and follows it with
`GET`/`DELETE /api/v1/agents/{id}/tasks/{taskId}`; the agent receives it in its heartbeat
answer, by polling, or over `WS /api/v1/agents/{id}/task-stream`, whose frames are below.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AliasChoices, Field

from agentplane.contracts.http.base import CamelModel
from agentplane.contracts.http.orchestrator import TaskLog
from agentplane.contracts.tasks import (
    MAX_CREDENTIALS,
    MAX_LOG_LEVEL,
    MAX_LOG_MESSAGE,
    MAX_PROGRESS_MESSAGE,
    MAX_TASK_ID,
    MAX_TASK_PRIORITY,
    MAX_TASK_TIMEOUT_SECONDS,
    MAX_TASK_TYPE,
    MIN_TASK_PRIORITY,
    TASK_TYPE_PATTERN,
)


class CreateTaskBody(CamelModel):
    """`POST /api/v1/agents/{id}/tasks`: what to run; `credentials` are secrets (sealed at
    rest, given only to the agent, erased when the task ends)."""

    task_type: str = Field(min_length=1, max_length=MAX_TASK_TYPE, pattern=TASK_TYPE_PATTERN)
    payload: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, str] | None = Field(default=None, max_length=MAX_CREDENTIALS, repr=False)
    # Higher first (default contracts.tasks.DEFAULT_TASK_PRIORITY, 0).
    priority: int | None = Field(
        default=None, ge=MIN_TASK_PRIORITY, le=MAX_TASK_PRIORITY, strict=True
    )
    # Seconds the agent has for the task (default DEFAULT_TASK_TIMEOUT_SECONDS, 300).
    timeout: int | None = Field(default=None, ge=1, le=MAX_TASK_TIMEOUT_SECONDS, strict=True)


class TaskState(CamelModel):
    """A task: its state, progress, logs and, once finished, its result (never credentials:
    `credentialsState` says whether they are held or were erased)."""

    task_id: str = Field(validation_alias=AliasChoices("taskId", "task_id", "id"))
    agent_id: UUID | None = None
    task_type: str | None = None
    status: str | None = None
    priority: int | None = None
    timeout: int | None = None
    attempts: int | None = None
    credentials_state: str | None = None
    progress: float | None = None
    progress_message: str | None = None
    payload: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    logs: list[TaskLog] = Field(default_factory=list)
    bundle_results: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime | None = None
    completed_at: datetime | None = Field(
        default=None, validation_alias=AliasChoices("completedAt", "finishedAt")
    )


class TaskProgressFrame(CamelModel):
    """Agent → server on the task stream: `{"type": "task_progress", "taskId", "progress",
    "message"}`."""

    type: Literal["task_progress"]
    task_id: str = Field(min_length=1, max_length=MAX_TASK_ID)
    progress: float | None = Field(default=None, ge=0, le=100)
    message: str | None = Field(default=None, max_length=MAX_PROGRESS_MESSAGE)


class TaskLogFrame(CamelModel):
    """Agent → server on the task stream: `{"type": "task_log", "taskId", "level",
    "message"}` (`timestamp` optional: the server's clock otherwise)."""

    type: Literal["task_log"]
    task_id: str = Field(min_length=1, max_length=MAX_TASK_ID)
    level: str = Field(default="info", min_length=1, max_length=MAX_LOG_LEVEL)
    message: str = Field(max_length=MAX_LOG_MESSAGE)
    timestamp: datetime | None = None
