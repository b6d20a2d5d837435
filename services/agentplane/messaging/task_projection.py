"""The task read model: every task, the open ones (the agents' queues and leases), their log
lines and per-item bundle results. Pure mapping of task events onto view documents."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from agentplane.contracts.tasks import MAX_TASK_LOG_LINES, TASK_END_STATES, TaskStatus
from agentplane.eventstore.views import ViewTx
from agentplane.messaging.domain.task import Task

TASK = "task"
# Tasks not ended, scoped by agent: the queue (pending ones) and the leases (handed out).
OPEN_TASK = "open_task"
# One document per log line / bundle item, scoped by task (a task's doc stays small).
TASK_LOG = "task_log"
TASK_ITEM = "task_item"

_END = {
    Task.Succeeded: TaskStatus.SUCCEEDED,
    Task.Failed: TaskStatus.FAILED,
    Task.TimedOut: TaskStatus.TIMED_OUT,
    Task.Cancelled: TaskStatus.CANCELLED,
}


def line_key(task_id: str, seq: int) -> str:
    return f"{task_id}:{seq:06d}"


def _open(doc: dict[str, Any]) -> dict[str, Any]:
    keys = ("task_id", "agent_id", "workspace_id", "status", "priority", "created_at",
            "lease_expires_at")  # fmt: skip
    return {k: doc[k] for k in keys}


class TaskProjection:
    name = "tasks"

    def apply(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None:
        if isinstance(event, Task.Queued):
            self._queued(event, tx)
            return
        if not isinstance(event, Task.Event) or isinstance(event, Task.Created):
            return
        doc = tx.get(TASK, event.task_id)  # type: ignore[attr-defined]
        if doc is None:
            return
        at = event.at.isoformat()  # type: ignore[attr-defined]
        doc["updated_at"] = at
        if isinstance(event, Task.Assigned):
            doc.update(status=TaskStatus.ASSIGNED.value, attempts=event.attempt,
                       assigned_via=event.via, assigned_at=at,
                       lease_expires_at=event.lease_expires_at.isoformat())  # fmt: skip
        elif isinstance(event, Task.LeaseExpired):
            doc.update(status=TaskStatus.PENDING.value, lease_expires_at=None)
        elif isinstance(event, Task.ProgressReported):
            if doc["status"] == TaskStatus.ASSIGNED.value:
                doc["status"] = TaskStatus.RUNNING.value
            doc["started_at"] = doc["started_at"] or at
            if event.progress is not None:
                doc["progress"] = event.progress
            if event.message is not None:
                doc["progress_message"] = event.message
        elif isinstance(event, Task.LogsRecorded):
            self._lines(doc, event.logs, tx)
        elif type(event) in _END:
            self._ended(doc, event, tx)
        tx.put(TASK, doc["task_id"], doc, scope=doc["agent_id"])
        if doc["status"] in TASK_END_STATES:
            tx.delete(OPEN_TASK, doc["task_id"])
        else:
            tx.put(OPEN_TASK, doc["task_id"], _open(doc), scope=doc["agent_id"])

    def _queued(self, event: Task.Queued, tx: ViewTx) -> None:
        at = event.timestamp.isoformat()
        doc = {
            "task_id": event.task_id,
            "agent_id": event.agent_id,
            "workspace_id": event.workspace_id,
            "task_type": event.task_type,
            "payload": event.payload,
            "priority": event.priority,
            "timeout_seconds": event.timeout_seconds,
            "max_attempts": event.max_attempts,
            "has_credentials": event.has_credentials,
            "status": TaskStatus.PENDING.value,
            "attempts": 0,
            "assigned_via": None,
            "progress": None,
            "progress_message": None,
            "log_count": 0,
            "logs_dropped": 0,
            "bundle_count": 0,
            "result": None,
            "error": None,
            "created_at": at,
            "updated_at": at,
            "assigned_at": None,
            "lease_expires_at": None,
            "started_at": None,
            "finished_at": None,
        }
        tx.put(TASK, event.task_id, doc, scope=event.agent_id)
        tx.put(OPEN_TASK, event.task_id, _open(doc), scope=event.agent_id)

    def _lines(self, doc: dict[str, Any], logs: list[dict[str, Any]], tx: ViewTx) -> None:
        for line in logs:
            if doc["log_count"] >= MAX_TASK_LOG_LINES:
                doc["logs_dropped"] += 1
                continue
            seq = doc["log_count"]
            tx.put(TASK_LOG, line_key(doc["task_id"], seq), {"seq": seq, **line},
                   scope=doc["task_id"])  # fmt: skip
            doc["log_count"] = seq + 1

    def _ended(self, doc: dict[str, Any], event: Any, tx: ViewTx) -> None:
        doc.update(status=_END[type(event)].value, finished_at=event.at.isoformat(),
                   lease_expires_at=None)  # fmt: skip
        if isinstance(event, Task.Succeeded | Task.Failed):
            doc["result"] = event.result
            doc["started_at"] = doc["started_at"] or doc["finished_at"]
            self._lines(doc, event.logs, tx)
            for index, item in enumerate(event.bundle_results):
                tx.put(TASK_ITEM, line_key(doc["task_id"], index),
                       {"index": index, "item": item}, scope=doc["task_id"])  # fmt: skip
            doc["bundle_count"] = len(event.bundle_results)
        if isinstance(event, Task.Failed):
            doc["error"] = event.error
        if isinstance(event, Task.Cancelled):
            doc["error"] = f"cancelled: {event.reason}"
        if isinstance(event, Task.TimedOut):
            doc["error"] = f"no report after {event.attempts} attempt(s)"
