"""Wire models of an agent's side of its tasks (seeds 002 and 003): claiming pending tasks under
a lease, and reporting progress, log lines and the end. The task states, limits and the
operator's side are in `agentplane.contracts.tasks`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.tasks import (
    MAX_BUNDLE_RESULTS,
    MAX_ERROR,
    MAX_LOGS_PER_REPORT,
    MAX_PROGRESS_MESSAGE,
    MAX_TASK_ID,
    MAX_TASKS_PER_CLAIM,
    Credentials,
    TaskLogInput,
    TaskStatus,
    TaskVia,
)


class ClaimTasks(BaseModel):
    """Hand the agent its pending tasks (highest priority first, then oldest) under a lease."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    via: TaskVia
    limit: int = Field(default=MAX_TASKS_PER_CLAIM, ge=1, le=MAX_TASKS_PER_CLAIM)


class TaskAssignment(BaseModel):
    """A task handed to its agent, credentials included (only ever sent to that agent)."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    task_type: str
    payload: dict[str, Any] = Field(default_factory=dict)
    credentials: Credentials | None = Field(default=None, repr=False)
    timeout_seconds: int
    priority: int
    created_at: datetime
    attempt: int
    lease_expires_at: datetime


class TaskAssignments(BaseModel):
    """What a claim handed out (empty when nothing is pending)."""

    model_config = ConfigDict(frozen=True)

    tasks: list[TaskAssignment] = Field(default_factory=list)


class ReportTaskProgress(BaseModel):
    """The agent's progress of its task (percent and/or a message); makes it `running`."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    task_id: str = Field(max_length=MAX_TASK_ID)
    progress: float | None = Field(default=None, ge=0, le=100)
    message: str | None = Field(default=None, max_length=MAX_PROGRESS_MESSAGE)


class RecordTaskLogs(BaseModel):
    """Log lines of the agent's task."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    task_id: str = Field(max_length=MAX_TASK_ID)
    logs: list[TaskLogInput] = Field(min_length=1, max_length=MAX_LOGS_PER_REPORT)


class CompleteTask(BaseModel):
    """The agent's report of its task's end; a repeat (or a report after the end) is harmless."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    task_id: str = Field(max_length=MAX_TASK_ID)
    success: bool
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(default=None, max_length=MAX_ERROR)
    logs: list[TaskLogInput] = Field(default_factory=list, max_length=MAX_LOGS_PER_REPORT)
    bundle_results: list[dict[str, Any]] | None = Field(default=None, max_length=MAX_BUNDLE_RESULTS)


class TaskReportAccepted(BaseModel):
    """A report was recorded, or changed nothing because it repeated one (`recorded` False)."""

    model_config = ConfigDict(frozen=True)

    acknowledged: bool = True
    task_id: str
    status: TaskStatus
    recorded: bool


class TaskNotice(BaseModel):
    """Published for an agent's open task streams (no task content): look for new tasks, or
    tell the agent a task was cancelled."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    kind: Literal["available", "cancelled"]
    task_id: str | None = None
