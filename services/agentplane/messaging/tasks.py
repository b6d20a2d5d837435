"""Task use cases: record intent first, then each hand-out, report and end as it happens.

Synchronous (eventsourcing); handlers call them in threads. Changes return the last
notification id they recorded (0 when nothing changed). Tasks share the commands' store, group
commit and projection (one log per service). Credentials are sealed in the vault before the
task is recorded and erased once it has ended (and the end is saved).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import IntegrityError

from agentplane.contracts.errors import conflict
from agentplane.contracts.task_reports import (
    ClaimTasks,
    CompleteTask,
    RecordTaskLogs,
    ReportTaskProgress,
    TaskAssignment,
    TaskAssignments,
    TaskReportAccepted,
)
from agentplane.contracts.tasks import (
    MAX_TASK_ATTEMPTS,
    CancelTask,
    CreateTask,
    GetTask,
    ListTasks,
    TaskCreated,
    TaskLogInput,
    TaskPage,
    TaskStatus,
    TaskView,
)
from agentplane.messaging.domain.task import (
    Task,
    TaskEnded,
)
from agentplane.messaging.domain.task_ids import (
    idempotent_task_uuid,
)
from agentplane.messaging.task_projection import OPEN_TASK, TASK
from agentplane.messaging.task_records import TaskRecords
from agentplane.messaging.task_views import cursor_after, summary_of, task_cursor

log = logging.getLogger("agentplane.messaging.tasks")


def _lines(logs: list[TaskLogInput], now: datetime) -> list[dict[str, Any]]:
    return [
        {"timestamp": (line.timestamp or now).isoformat(), "level": line.level,
         "message": line.message}
        for line in logs
    ]  # fmt: skip


class Tasks(TaskRecords):
    """Tasks of every agent: what operators and agents ask of them."""

    # -- operator side ---------------------------------------------------------------------

    def create(self, cmd: CreateTask) -> tuple[TaskCreated, int]:
        key = cmd.idempotency_key
        uuid = idempotent_task_uuid(cmd.workspace_id, cmd.agent_id, key) if key else uuid4()
        task = Task.queue(
            uuid, cmd.workspace_id, str(cmd.agent_id), cmd.task_type, cmd.payload, cmd.priority,
            cmd.timeout_seconds, MAX_TASK_ATTEMPTS, bool(cmd.credentials),
        )  # fmt: skip
        if key is not None and self._doc(task.task_id) is not None:
            return self._replayed(task.task_id, cmd), 0
        if cmd.credentials:
            self.vault.seal(uuid, cmd.credentials)
        try:
            position = self.committer.save(task)
        except IntegrityError:
            if key is None:
                self.vault.erase(uuid)
                raise
            # Saved by a concurrent retry with the same key: its sealed credentials stand.
            self.projector.catch_up()
            return self._replayed(task.task_id, cmd), 0
        return TaskCreated(task=self._view(task.task_id)), position

    def _replayed(self, task_id: str, cmd: CreateTask) -> TaskCreated:
        doc = self._doc(task_id)
        asked = (cmd.task_type, cmd.payload, cmd.priority, cmd.timeout_seconds)
        if doc is None or asked != (
            doc["task_type"],
            doc["payload"],
            doc["priority"],
            doc["timeout_seconds"],
        ):
            raise conflict(
                "Idempotency-Key was already used for another task", field="Idempotency-Key"
            )
        return TaskCreated(task=self._view(task_id), replayed=True)

    def get(self, query: GetTask) -> TaskView:
        doc = self._owned(query.workspace_id, query.agent_id, query.task_id)
        return self._view(doc["task_id"])

    def list(self, query: ListTasks) -> TaskPage:
        with self.views.read() as tx:
            docs = tx.list(TASK, str(query.agent_id))
        docs = [
            d
            for d in docs
            if d["workspace_id"] == query.workspace_id
            and (query.status is None or d["status"] == query.status.value)
        ]
        docs.sort(key=lambda d: (d["created_at"], d["task_id"]), reverse=True)
        if query.cursor:
            after = cursor_after(query.cursor)
            docs = [d for d in docs if (d["created_at"], d["task_id"]) < after]
        page = docs[: query.limit]
        more = len(docs) > query.limit
        return TaskPage(
            tasks=[summary_of(d) for d in page], next_cursor=task_cursor(page[-1]) if more else None
        )

    def cancel(self, cmd: CancelTask, reason: str = "operator") -> tuple[TaskView, int]:
        doc = self._owned(cmd.workspace_id, cmd.agent_id, cmd.task_id)

        def cancel(task: Task) -> None:
            try:
                task.cancel(reason, self.clock())
            except TaskEnded:
                raise conflict(
                    f"Task is {task.status.value}; only a task that has not ended can be cancelled"
                ) from None

        position = self._change(doc["task_id"], cancel)
        return self._view(doc["task_id"]), position

    def cancel_open_of(self, agent_id: str) -> tuple[list[str], int]:
        """Cancel every open task of an agent that is gone: (task ids, last position)."""
        with self.views.read() as tx:
            opened = [d["task_id"] for d in tx.list(OPEN_TASK, agent_id)]
        now, position, cancelled = self.clock(), 0, []

        def cancel(task: Task) -> None:
            if not task.ended:
                task.cancel("agent_gone", now)

        for task_id in opened:
            changed = self._change(task_id, cancel)
            if changed:
                cancelled.append(task_id)
                position = max(position, changed)
        return cancelled, position

    # -- the agent's side ------------------------------------------------------------------

    def claim(self, cmd: ClaimTasks) -> tuple[TaskAssignments, int]:
        """Lease the agent's pending tasks: highest priority first, then oldest."""
        agent_id = str(cmd.agent_id)
        with self.views.read() as tx:
            pending = [
                d
                for d in tx.list(OPEN_TASK, agent_id)
                if d["status"] == TaskStatus.PENDING.value and d["workspace_id"] == cmd.workspace_id
            ]
        if not pending:
            return TaskAssignments(), 0
        pending.sort(key=lambda d: (-d["priority"], d["created_at"], d["task_id"]))
        now = self.clock()
        leased: list[Task] = []
        for doc in pending[: cmd.limit]:
            task = self._load(doc["task_id"])
            if task is not None and task.assign(cmd.via.value, now, self.grace):
                leased.append(task)
        if not leased:
            return TaskAssignments(), 0
        try:
            position = self.committer.save(*leased)
        except IntegrityError:
            # Another hand-out of one of them won the race: lease each on its own.
            return self._claim_each([t.task_id for t in leased], cmd, now)
        return TaskAssignments(tasks=[self._assignment(t) for t in leased]), position

    def _claim_each(
        self, task_ids: list[str], cmd: ClaimTasks, now: datetime
    ) -> tuple[TaskAssignments, int]:
        won: list[Task] = []
        position = 0
        for task_id in task_ids:
            task = self._load(task_id)
            if task is None or not task.assign(cmd.via.value, now, self.grace):
                continue
            try:
                position = max(position, self.committer.save(task))
            except IntegrityError:
                continue
            won.append(task)
        return TaskAssignments(tasks=[self._assignment(t) for t in won]), position

    def _assignment(self, task: Task) -> TaskAssignment:
        assert task.lease_expires_at is not None
        self.leases.add(task.task_id, task.lease_expires_at)
        doc = self._doc(task.task_id)
        assert doc is not None
        credentials = self.vault.open(task.id) if doc["has_credentials"] else None
        return TaskAssignment(
            task_id=task.task_id,
            task_type=doc["task_type"],
            payload=doc["payload"],
            credentials=credentials,
            timeout_seconds=doc["timeout_seconds"],
            priority=doc["priority"],
            created_at=datetime.fromisoformat(doc["created_at"]),
            attempt=task.attempts,
            lease_expires_at=task.lease_expires_at,
        )

    def progress(self, cmd: ReportTaskProgress) -> tuple[TaskReportAccepted, int]:
        self._owned(cmd.workspace_id, cmd.agent_id, cmd.task_id)
        now = self.clock()
        return self._report(
            cmd.task_id, lambda t: t.report_progress(cmd.progress, cmd.message, now)
        )

    def logs(self, cmd: RecordTaskLogs) -> tuple[TaskReportAccepted, int]:
        self._owned(cmd.workspace_id, cmd.agent_id, cmd.task_id)
        now = self.clock()
        return self._report(cmd.task_id, lambda t: t.record_logs(_lines(cmd.logs, now), now))

    def complete(self, cmd: CompleteTask) -> tuple[TaskReportAccepted, int]:
        self._owned(cmd.workspace_id, cmd.agent_id, cmd.task_id)
        now = self.clock()
        lines, items = _lines(cmd.logs, now), list(cmd.bundle_results or [])
        return self._report(
            cmd.task_id,
            lambda t: t.complete(cmd.success, cmd.result, cmd.error, lines, items, now),
        )

    def expire_due(self, limit: int = 500) -> tuple[list[str], int]:
        """End the leases that are due: (ids offered again, last position)."""
        now = self.clock()
        position, offered = 0, []
        for task_id in self.leases.due(now, limit):
            changed = self._change(task_id, lambda t: t.lease_ended(now))
            if changed:
                position = max(position, changed)
                doc = self._doc(task_id)
                if doc is not None and doc["status"] == TaskStatus.PENDING.value:
                    offered.append(task_id)
        return offered, position
