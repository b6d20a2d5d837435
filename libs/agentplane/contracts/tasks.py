"""Wire models of tasks (seeds 002 and 003; the messaging service's task subjects).

A task is work an operator gives one agent. It is `pending` until a delivery path hands it
out (the seed 002 heartbeat answer, the seed 002 poll, the seed 002 task stream, the seed 003
poll): then it is `assigned` under a lease of `timeout` + `LEASE_GRACE_SECONDS`. Progress makes
it `running`; the agent's report ends it as `succeeded` or `failed`. A lease that ends without
a report puts the task back to `pending` (offered again) until it was handed out
`MAX_TASK_ATTEMPTS` times; then it ends as `timed_out`. An operator may cancel it before it
ends (`cancelled`), and so does the deletion or termination of its agent.

`credentials` are secrets: they travel only in requests to the messaging service and in
`TaskAssignment`s to the assigned agent, never in views, events or lists (`repr=False` keeps
them out of logged reprs too).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_TASK_TIMEOUT_SECONDS = 300
MAX_TASK_TIMEOUT_SECONDS = 86_400
DEFAULT_TASK_PRIORITY = 0
MIN_TASK_PRIORITY = -1000
MAX_TASK_PRIORITY = 1000
# A handed-out task is leased for its timeout plus this long (the agent's report travels).
LEASE_GRACE_SECONDS = 5
# How many times a task is handed out before it ends as `timed_out`.
MAX_TASK_ATTEMPTS = 3
MAX_TASK_TYPE = 64
TASK_TYPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
# Compact JSON sizes (larger: 413).
MAX_TASK_PAYLOAD_BYTES = 64 * 1024
MAX_TASK_RESULT_BYTES = 256 * 1024
MAX_CREDENTIALS = 32
MAX_CREDENTIAL_NAME = 128
MAX_CREDENTIAL_VALUE = 4096
# Log lines kept per task (later ones are counted in `logs_dropped`), and their size.
MAX_TASK_LOG_LINES = 1000
MAX_LOG_MESSAGE = 8192
MAX_LOG_LEVEL = 16
MAX_LOGS_PER_REPORT = 1000
MAX_BUNDLE_RESULTS = 1000
MAX_PROGRESS_MESSAGE = 1000
MAX_ERROR = 4000
# Tasks handed out per heartbeat answer or poll.
MAX_TASKS_PER_CLAIM = 50
TASK_PAGE_DEFAULT = 50
TASK_PAGE_MAX = 500
MAX_TASK_ID = 100
MAX_IDEMPOTENCY_KEY = 255


class TaskStatus(StrEnum):
    """Where a task is; the last four are end states."""

    PENDING = "pending"
    ASSIGNED = "assigned"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


TASK_END_STATES = frozenset(
    {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.TIMED_OUT}
)


class TaskVia(StrEnum):
    """The delivery path that handed a task to its agent."""

    HEARTBEAT = "heartbeat"
    POLL = "poll"
    STREAM = "stream"
    DEVICE_POLL = "device_poll"


class CredentialsState(StrEnum):
    """What the service holds of a task's credentials (never the values)."""

    NONE = "none"
    HELD = "held"
    ERASED = "erased"


# Names up to MAX_CREDENTIAL_NAME, values up to MAX_CREDENTIAL_VALUE characters.
Credentials = dict[str, str]


class CreateTask(BaseModel):
    """Queue a task for an agent of the workspace."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    task_type: str = Field(min_length=1, max_length=MAX_TASK_TYPE, pattern=TASK_TYPE_PATTERN)
    payload: dict[str, Any] = Field(default_factory=dict)
    credentials: Credentials | None = Field(default=None, max_length=MAX_CREDENTIALS, repr=False)
    priority: int = Field(default=DEFAULT_TASK_PRIORITY, ge=MIN_TASK_PRIORITY, le=MAX_TASK_PRIORITY)
    timeout_seconds: int = Field(
        default=DEFAULT_TASK_TIMEOUT_SECONDS, ge=1, le=MAX_TASK_TIMEOUT_SECONDS
    )
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=MAX_IDEMPOTENCY_KEY)


class TaskLogEntry(BaseModel):
    """One log line of a task, as recorded."""

    model_config = ConfigDict(frozen=True)

    seq: int = 0
    timestamp: datetime
    level: str = Field(max_length=MAX_LOG_LEVEL)
    message: str = Field(max_length=MAX_LOG_MESSAGE)


class TaskLogInput(BaseModel):
    """A log line an agent reports (the server's clock stands in for a missing timestamp)."""

    model_config = ConfigDict(frozen=True)

    timestamp: datetime | None = None
    level: str = Field(default="info", min_length=1, max_length=MAX_LOG_LEVEL)
    message: str = Field(max_length=MAX_LOG_MESSAGE)


class TaskView(BaseModel):
    """A task as the operator sees it: state, progress, logs, result; never credentials."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    agent_id: UUID
    workspace_id: str
    task_type: str
    payload: dict[str, Any] = Field(default_factory=dict)
    priority: int
    timeout_seconds: int
    status: TaskStatus
    attempts: int = 0
    max_attempts: int = MAX_TASK_ATTEMPTS
    assigned_via: TaskVia | None = None
    credentials: CredentialsState = CredentialsState.NONE
    progress: float | None = None
    progress_message: str | None = None
    logs: list[TaskLogEntry] = Field(default_factory=list)
    logs_dropped: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    bundle_results: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    assigned_at: datetime | None = None
    lease_expires_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class TaskSummary(BaseModel):
    """A task in a list: no payload, logs or result (and never credentials)."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    agent_id: UUID
    task_type: str
    priority: int
    status: TaskStatus
    attempts: int = 0
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None


class TaskCreated(BaseModel):
    """The task was recorded (`replayed`: an Idempotency-Key named one created before)."""

    model_config = ConfigDict(frozen=True)

    task: TaskView
    replayed: bool = False


class GetTask(BaseModel):
    """One task of an agent of the workspace; not_found otherwise."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    task_id: str = Field(max_length=MAX_TASK_ID)


class ListTasks(BaseModel):
    """An agent's tasks, newest first, one page (optionally of one status)."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    status: TaskStatus | None = None
    limit: int = Field(default=TASK_PAGE_DEFAULT, ge=1, le=TASK_PAGE_MAX)
    cursor: str | None = Field(default=None, max_length=200)


class TaskPage(BaseModel):
    """A page of tasks and the cursor of the next one (None at the end)."""

    model_config = ConfigDict(frozen=True)

    tasks: list[TaskSummary]
    next_cursor: str | None = None


class CancelTask(BaseModel):
    """Cancel a task that has not ended (conflict otherwise)."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    task_id: str = Field(max_length=MAX_TASK_ID)
