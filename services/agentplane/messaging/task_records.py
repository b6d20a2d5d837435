"""The task use cases' access to tasks: loading and changing one (retried when another writer
saved it first; its credentials erased once its end is saved), reading the view, the
ownership check, and what start restores (lease timers, erasure of unneeded credentials).
`Tasks` (tasks.py) builds the use cases on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from agentplane.contracts.errors import not_found
from agentplane.contracts.task_reports import TaskReportAccepted
from agentplane.contracts.tasks import LEASE_GRACE_SECONDS, TaskStatus, TaskView
from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.group_commit import GroupCommitter
from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.views import ViewStore
from agentplane.messaging.domain.task import Task
from agentplane.messaging.domain.task_ids import task_uuid
from agentplane.messaging.expiry_timers import ExpiryTimers
from agentplane.messaging.task_credentials import CredentialVault
from agentplane.messaging.task_projection import OPEN_TASK, TASK
from agentplane.messaging.task_views import view_of

NOT_FOUND = "Task not found"
RETRIES = 5


class TaskRecords:
    """Tasks of every agent, as the use cases load, change and read them."""

    def __init__(
        self,
        store: ServiceApplication,
        views: ViewStore,
        committer: GroupCommitter,
        projector: ProjectionRunner,
        vault: CredentialVault,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        grace: timedelta = timedelta(seconds=LEASE_GRACE_SECONDS),
    ) -> None:
        self.store = store
        self.views = views
        self.committer = committer
        self.projector = projector
        self.vault = vault
        self.clock = clock
        self.grace = grace
        # Lease ends of handed-out tasks (a stale entry finds the task moved on: no-op).
        self.leases = ExpiryTimers()

    def start(self) -> tuple[int, int]:
        """Arm a timer for every lease and erase credentials no open task needs (a crash
        between an end and its erasure, or between sealing and a failed save)."""
        with self.views.read() as tx:
            opened = tx.list(OPEN_TASK)
        for doc in opened:
            if doc["lease_expires_at"]:
                self.leases.add(doc["task_id"], datetime.fromisoformat(doc["lease_expires_at"]))
        open_ids = {task_uuid(d["task_id"]) for d in opened}
        erased = 0
        for held in self.vault.held():
            if held not in open_ids and self._exists_ended_or_missing(held):
                erased += self.vault.erase(held)
        return len(opened), erased

    def _exists_ended_or_missing(self, uuid: UUID) -> bool:
        try:
            task: Task = self.store.repository.get(uuid)
        except AggregateNotFoundError:
            return True
        return task.ended

    def agent_of(self, task_id: str) -> str | None:
        doc = self._doc(task_id)
        return doc["agent_id"] if doc else None

    # -- internals -------------------------------------------------------------------------

    def _report(
        self, task_id: str, change: Callable[[Task], bool]
    ) -> tuple[TaskReportAccepted, int]:
        position = self._change(task_id, change)
        doc = self._doc(task_id)
        assert doc is not None
        accepted = TaskReportAccepted(
            task_id=task_id, status=TaskStatus(doc["status"]), recorded=position > 0
        )
        return accepted, position

    def _doc(self, task_id: str) -> dict[str, Any] | None:
        with self.views.read() as tx:
            return tx.get(TASK, task_id)

    def _view(self, task_id: str) -> TaskView:
        with self.views.read() as tx:
            return view_of(tx, task_id)

    def _owned(self, workspace_id: str, agent_id: UUID, task_id: str) -> dict[str, Any]:
        doc = self._doc(task_id)
        if doc is None or doc["workspace_id"] != workspace_id or doc["agent_id"] != str(agent_id):
            # Another agent's task is not revealed: the same answer as no task at all.
            raise not_found(NOT_FOUND)
        return doc

    def _load(self, task_id: str) -> Task | None:
        uuid = task_uuid(task_id)
        if uuid is None:
            return None
        try:
            return self.store.repository.get(uuid)  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            return None

    def _change(self, task_id: str, change: Callable[[Task], object]) -> int:
        """Apply and save; retried when another writer saved the task first."""
        for attempt in range(RETRIES):
            task = self._load(task_id)
            if task is None:
                raise not_found(NOT_FOUND)
            change(task)
            if not task.pending_events:
                return 0
            try:
                position = self.committer.save(task)
            except IntegrityError:
                if attempt == RETRIES - 1:
                    raise
                continue
            if task.ended:
                # The end is saved: the credentials are no longer anybody's business.
                self.vault.erase(task.id)
            return position
        return 0
