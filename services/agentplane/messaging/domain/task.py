"""A task: work an operator gave one agent, handed out under leases until it ends.

pending → assigned (leased) → running → succeeded | failed, or cancelled / timed_out on the
way; a lease that ends without a report puts the task back to pending until it was handed out
`max_attempts` times. Reports arrive at least once: a repeat of a report the task is already
past changes nothing (the methods answer False instead of recording). The credentials are not
here at all: the service keeps them sealed outside the log (task_credentials.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from agentplane.contracts.tasks import TASK_END_STATES, TaskStatus
from agentplane.messaging.domain.task_ids import public_task_id

# Log lines may trail the end report (they travel another way, e.g. the task stream).
LATE_LOGS = timedelta(seconds=60)


class TaskEnded(Exception):
    """The task already ended: it cannot be changed (the operator asked for it)."""


class Task(Aggregate):
    """One task; every event names the agent and the task (audit entries need no join)."""

    TOPIC = "messaging.Task"

    class Event(Aggregate.Event):
        AGENT_FIELD = "agent_id"
        # What the task does and says is the operator's and the agent's business.
        PRIVATE = frozenset(
            {"payload", "result", "error", "logs", "bundle_results", "message", "progress"}
        )

    class Created(Event, Aggregate.Created):
        # Never recorded (tasks start as Queued); eventsourcing asks every class for a topic.
        TOPIC = "task.Created"

    class Queued(Event, Aggregate.Created):
        TOPIC = "task.Queued"
        workspace_id: str
        agent_id: str
        task_id: str
        task_type: str
        payload: dict[str, Any]
        priority: int
        timeout_seconds: int
        max_attempts: int
        has_credentials: bool

    class Assigned(Event):
        TOPIC = "task.Assigned"
        agent_id: str
        task_id: str
        attempt: int
        via: str
        lease_expires_at: datetime
        at: datetime

    class LeaseExpired(Event):
        """The agent did not report within the lease: the task is offered again."""

        TOPIC = "task.LeaseExpired"
        agent_id: str
        task_id: str
        attempt: int
        at: datetime

    class ProgressReported(Event):
        TOPIC = "task.ProgressReported"
        agent_id: str
        task_id: str
        progress: float | None
        message: str | None
        at: datetime

    class LogsRecorded(Event):
        TOPIC = "task.LogsRecorded"
        agent_id: str
        task_id: str
        # [{"timestamp", "level", "message"}], oldest first.
        logs: list[dict[str, Any]]
        at: datetime

    class Succeeded(Event):
        TOPIC = "task.Succeeded"
        agent_id: str
        task_id: str
        result: dict[str, Any]
        logs: list[dict[str, Any]]
        bundle_results: list[dict[str, Any]]
        at: datetime

    class Failed(Event):
        TOPIC = "task.Failed"
        agent_id: str
        task_id: str
        result: dict[str, Any]
        error: str
        logs: list[dict[str, Any]]
        bundle_results: list[dict[str, Any]]
        at: datetime

    class TimedOut(Event):
        TOPIC = "task.TimedOut"
        agent_id: str
        task_id: str
        attempts: int
        at: datetime

    class Cancelled(Event):
        TOPIC = "task.Cancelled"
        agent_id: str
        task_id: str
        reason: str
        at: datetime

    def __init__(
        self,
        workspace_id: str,
        agent_id: str,
        task_id: str,
        task_type: str,
        payload: dict[str, Any],
        priority: int,
        timeout_seconds: int,
        max_attempts: int,
        has_credentials: bool,
    ) -> None:
        self.workspace_id = workspace_id
        self.agent_id = agent_id
        self.task_id = task_id
        self.task_type = task_type
        self.timeout_seconds = timeout_seconds
        self.max_attempts = max_attempts
        self.status = TaskStatus.PENDING
        self.attempts = 0
        self.lease_expires_at: datetime | None = None
        self.ended_at: datetime | None = None

    @classmethod
    def queue(
        cls,
        uuid: UUID,
        workspace_id: str,
        agent_id: str,
        task_type: str,
        payload: dict[str, Any],
        priority: int,
        timeout_seconds: int,
        max_attempts: int,
        has_credentials: bool,
    ) -> Task:
        return cls._create(
            cls.Queued,
            id=uuid,
            workspace_id=workspace_id,
            agent_id=agent_id,
            task_id=public_task_id(uuid),
            task_type=task_type,
            payload=payload,
            priority=priority,
            timeout_seconds=timeout_seconds,
            max_attempts=max_attempts,
            has_credentials=has_credentials,
        )

    @property
    def ended(self) -> bool:
        return self.status in TASK_END_STATES

    def _ids(self) -> dict[str, str]:
        return {"agent_id": self.agent_id, "task_id": self.task_id}

    def assign(self, via: str, at: datetime, grace: timedelta) -> bool:
        """Hand the task out under a lease; False unless it is pending."""
        if self.status is not TaskStatus.PENDING:
            return False
        lease = at + timedelta(seconds=self.timeout_seconds) + grace
        self._assigned(**self._ids(), attempt=self.attempts + 1, via=via,
                       lease_expires_at=lease, at=at)  # fmt: skip
        return True

    @event(Assigned)
    def _assigned(
        self, agent_id: str, task_id: str, attempt: int, via: str,
        lease_expires_at: datetime, at: datetime,
    ) -> None:  # fmt: skip
        self.status = TaskStatus.ASSIGNED
        self.attempts = attempt
        self.lease_expires_at = lease_expires_at

    def lease_ended(self, at: datetime) -> bool:
        """The lease is over without a report: offer it again, or end it as timed out."""
        if self.status not in (TaskStatus.ASSIGNED, TaskStatus.RUNNING):
            return False
        if self.lease_expires_at is None or at < self.lease_expires_at:
            return False
        if self.attempts >= self.max_attempts:
            self._timed_out(**self._ids(), attempts=self.attempts, at=at)
        else:
            self._lease_expired(**self._ids(), attempt=self.attempts, at=at)
        return True

    @event(LeaseExpired)
    def _lease_expired(self, agent_id: str, task_id: str, attempt: int, at: datetime) -> None:
        self.status = TaskStatus.PENDING
        self.lease_expires_at = None

    @event(TimedOut)
    def _timed_out(self, agent_id: str, task_id: str, attempts: int, at: datetime) -> None:
        self.status = TaskStatus.TIMED_OUT
        self.lease_expires_at = None
        self.ended_at = at

    def report_progress(self, progress: float | None, message: str | None, at: datetime) -> bool:
        if self.ended:
            return False
        self._progress(**self._ids(), progress=progress, message=message, at=at)
        return True

    @event(ProgressReported)
    def _progress(
        self, agent_id: str, task_id: str, progress: float | None, message: str | None,
        at: datetime,
    ) -> None:  # fmt: skip
        # A task offered again after its lease whose agent still reports keeps waiting for
        # the next hand-out; only a leased task becomes running.
        if self.status is TaskStatus.ASSIGNED:
            self.status = TaskStatus.RUNNING

    def record_logs(self, logs: list[dict[str, Any]], at: datetime) -> bool:
        if not logs or (self.ended_at is not None and at > self.ended_at + LATE_LOGS):
            return False
        self._logs(**self._ids(), logs=logs, at=at)
        return True

    @event(LogsRecorded)
    def _logs(self, agent_id: str, task_id: str, logs: list[dict[str, Any]], at: datetime) -> None:
        pass

    def complete(
        self,
        success: bool,
        result: dict[str, Any],
        error: str | None,
        logs: list[dict[str, Any]],
        bundle_results: list[dict[str, Any]],
        at: datetime,
    ) -> bool:
        """The agent's report of the end; the first one counts, repeats change nothing.

        A report of a task whose lease ran out (and which waits to be offered again) still
        counts: the agent was slow, not gone.
        """
        if self.ended:
            return False
        if success:
            self._succeeded(**self._ids(), result=result, logs=logs,
                            bundle_results=bundle_results, at=at)  # fmt: skip
        else:
            self._failed(**self._ids(), result=result, error=error or "failed", logs=logs,
                         bundle_results=bundle_results, at=at)  # fmt: skip
        return True

    @event(Succeeded)
    def _succeeded(
        self, agent_id: str, task_id: str, result: dict[str, Any], logs: list[dict[str, Any]],
        bundle_results: list[dict[str, Any]], at: datetime,
    ) -> None:  # fmt: skip
        self.status = TaskStatus.SUCCEEDED
        self.lease_expires_at = None
        self.ended_at = at

    @event(Failed)
    def _failed(
        self, agent_id: str, task_id: str, result: dict[str, Any], error: str,
        logs: list[dict[str, Any]], bundle_results: list[dict[str, Any]], at: datetime,
    ) -> None:  # fmt: skip
        self.status = TaskStatus.FAILED
        self.lease_expires_at = None
        self.ended_at = at

    def cancel(self, reason: str, at: datetime) -> None:
        if self.ended:
            raise TaskEnded(f"the task is {self.status.value}")
        self._cancelled(**self._ids(), reason=reason, at=at)

    @event(Cancelled)
    def _cancelled(self, agent_id: str, task_id: str, reason: str, at: datetime) -> None:
        self.status = TaskStatus.CANCELLED
        self.lease_expires_at = None
        self.ended_at = at
