"""Task use cases on an in-memory store and a SQLite view: queue order, leases, bounded
attempts, reports, cancellation, and the credentials' life (sealed, delivered, erased)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.task_reports import (
    ClaimTasks,
    CompleteTask,
    RecordTaskLogs,
    ReportTaskProgress,
)
from agentplane.contracts.tasks import (
    CancelTask,
    CreateTask,
    CredentialsState,
    GetTask,
    ListTasks,
    TaskLogInput,
    TaskStatus,
    TaskVia,
)
from agentplane.eventstore.integration import to_integration
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.messaging.application import Commands, MessagingStore
from agentplane.messaging.domain.task_ids import (
    task_uuid,
)
from agentplane.messaging.task_credentials import CredentialVault
from agentplane.messaging.tasks import Tasks

WS = "ws_1"
AGENT = uuid4()
SECRET = "hunter2-" + "x" * 20


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tasks(tmp_path: Path, clock: Clock) -> Tasks:
    commands = Commands(MessagingStore(allow_memory=True), SQLiteViewStore(tmp_path / "v.sqlite"))
    return Tasks(
        commands.store, commands.views, commands.committer, commands.projector,
        CredentialVault(tmp_path / "vault"), clock=clock, grace=timedelta(seconds=5),
    )  # fmt: skip


def create(tasks: Tasks, **fields: Any) -> str:
    body = {"workspace_id": WS, "agent_id": AGENT, "task_type": "docker.pull", **fields}
    created, position = tasks.create(CreateTask.model_validate(body))
    assert position > 0
    return created.task.task_id


def claim(tasks: Tasks, via: TaskVia = TaskVia.HEARTBEAT, agent: Any = AGENT) -> list[Any]:
    return tasks.claim(ClaimTasks(workspace_id=WS, agent_id=agent, via=via))[0].tasks


def get(tasks: Tasks, task_id: str) -> Any:
    return tasks.get(GetTask(workspace_id=WS, agent_id=AGENT, task_id=task_id))


def complete(tasks: Tasks, task_id: str, success: bool = True, **fields: Any) -> Any:
    body = {"workspace_id": WS, "agent_id": AGENT, "task_id": task_id, "success": success}
    return tasks.complete(CompleteTask.model_validate(body | fields))[0]


def test_claims_hand_out_highest_priority_then_oldest_once_per_lease(
    tasks: Tasks, clock: Clock
) -> None:
    low = create(tasks, priority=1)
    clock.advance(1)
    high_old = create(tasks, priority=10)
    clock.advance(1)
    high_new = create(tasks, priority=10)
    handed = claim(tasks)
    assert [t.task_id for t in handed] == [high_old, high_new, low]
    assert all(t.attempt == 1 for t in handed)
    # Leased: nothing more until a lease ends.
    assert claim(tasks, TaskVia.POLL) == []
    view = get(tasks, high_old)
    assert view.status is TaskStatus.ASSIGNED and view.assigned_via is TaskVia.HEARTBEAT
    assert view.lease_expires_at == clock.now + timedelta(seconds=300 + 5)


def test_another_agent_claims_nothing_and_sees_nothing(tasks: Tasks) -> None:
    task_id = create(tasks)
    other = uuid4()
    assert claim(tasks, agent=other) == []
    with pytest.raises(ServiceError) as err:
        tasks.complete(CompleteTask(workspace_id=WS, agent_id=other, task_id=task_id, success=True))
    assert err.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(ServiceError):
        tasks.get(GetTask(workspace_id="ws_2", agent_id=AGENT, task_id=task_id))


def test_a_lapsed_lease_offers_again_then_times_out_after_three_attempts(
    tasks: Tasks, clock: Clock
) -> None:
    task_id = create(tasks, timeout_seconds=10, credentials={"token": SECRET})
    for attempt in (1, 2, 3):
        (handed,) = claim(tasks)
        assert handed.attempt == attempt and handed.credentials == {"token": SECRET}
        clock.advance(14)
        assert tasks.expire_due()[0] == []  # not due yet (10 s + 5 s grace)
        clock.advance(1)
        offered, position = tasks.expire_due()
        assert position > 0
        assert offered == ([task_id] if attempt < 3 else [])
    view = get(tasks, task_id)
    assert view.status is TaskStatus.TIMED_OUT and view.attempts == 3
    assert view.credentials is CredentialsState.ERASED
    uuid = task_uuid(task_id)
    assert uuid is not None and tasks.vault.open(uuid) is None
    assert claim(tasks) == []


def test_reports_progress_logs_and_completion_repeat_harmlessly(tasks: Tasks) -> None:
    task_id = create(tasks, credentials={"registry.password": SECRET})
    claim(tasks)
    report = {"workspace_id": WS, "agent_id": AGENT, "task_id": task_id}
    tasks.progress(ReportTaskProgress(**report, progress=50, message="Pulling layer 3/5"))
    tasks.logs(RecordTaskLogs(**report, logs=[TaskLogInput(level="info", message="one")]))
    running = get(tasks, task_id)
    assert running.status is TaskStatus.RUNNING and running.progress == 50
    assert running.progress_message == "Pulling layer 3/5"
    assert running.credentials is CredentialsState.HELD
    first = complete(
        tasks, task_id, result={"imageId": "sha256:abc"},
        logs=[{"level": "info", "message": "two"}],
        bundle_results=[{"control": "a"}, {"control": "b"}],
    )  # fmt: skip
    assert first.recorded and first.status is TaskStatus.SUCCEEDED
    # A line that trails the end report (it came another way) is still recorded.
    tasks.logs(RecordTaskLogs(**report, logs=[TaskLogInput(message="late")]))
    again = complete(tasks, task_id, success=False)
    assert not again.recorded and again.status is TaskStatus.SUCCEEDED
    done = get(tasks, task_id)
    assert [line.message for line in done.logs] == ["one", "two", "late"]
    assert done.result == {"imageId": "sha256:abc"}
    assert done.bundle_results == [{"control": "a"}, {"control": "b"}]
    assert done.credentials is CredentialsState.ERASED
    assert tasks.vault.held() == []


def test_cancel_ends_an_open_task_once(tasks: Tasks) -> None:
    task_id = create(tasks, credentials={"k": SECRET})
    cancel = CancelTask(workspace_id=WS, agent_id=AGENT, task_id=task_id)
    view, _ = tasks.cancel(cancel)
    assert view.status is TaskStatus.CANCELLED and view.credentials is CredentialsState.ERASED
    with pytest.raises(ServiceError) as err:
        tasks.cancel(cancel)
    assert err.value.kind is ErrorKind.CONFLICT
    assert claim(tasks) == []


def test_cancel_open_of_a_gone_agent(tasks: Tasks) -> None:
    first, second = create(tasks), create(tasks)
    claim(tasks)
    third = create(tasks)
    complete(tasks, first)
    cancelled, _ = tasks.cancel_open_of(str(AGENT))
    assert sorted(cancelled) == sorted([second, third])
    assert tasks.cancel_open_of(str(AGENT))[0] == []


def test_idempotency_key_creates_once(tasks: Tasks) -> None:
    body = {"workspace_id": WS, "agent_id": AGENT, "task_type": "t", "idempotency_key": "k1"}
    first, _ = tasks.create(CreateTask.model_validate(body))
    again, position = tasks.create(CreateTask.model_validate(body))
    assert again.replayed and position == 0 and again.task.task_id == first.task.task_id
    with pytest.raises(ServiceError) as err:
        tasks.create(CreateTask.model_validate(body | {"task_type": "other"}))
    assert err.value.kind is ErrorKind.CONFLICT


def test_list_is_newest_first_with_a_cursor(tasks: Tasks, clock: Clock) -> None:
    ids = []
    for _ in range(3):
        ids.append(create(tasks))
        clock.advance(1)
    page = tasks.list(ListTasks(workspace_id=WS, agent_id=AGENT, limit=2))
    assert [t.task_id for t in page.tasks] == ids[::-1][:2] and page.next_cursor
    rest = tasks.list(ListTasks(workspace_id=WS, agent_id=AGENT, cursor=page.next_cursor))
    assert [t.task_id for t in rest.tasks] == [ids[0]] and rest.next_cursor is None


def test_events_never_carry_credentials_payload_or_results(tasks: Tasks) -> None:
    task_id = create(tasks, payload={"image": "myapp"}, credentials={"pw": SECRET})
    claim(tasks)
    complete(tasks, task_id, result={"imageId": "x"}, logs=[{"message": "hello"}])
    stored = tasks.store.recorder.select_notifications(1, 100)
    assert all(SECRET.encode() not in n.state for n in stored)
    for notification in stored:
        event = tasks.store.mapper.to_domain_event(notification)
        public = to_integration(
            "messaging", notification.id, event, tasks.store.translator
        ).model_dump_json()
        assert SECRET not in public and "myapp" not in public and "hello" not in public


def test_start_erases_credentials_no_open_task_needs(tasks: Tasks) -> None:
    task_id = create(tasks, credentials={"pw": SECRET})
    orphan = uuid4()
    tasks.vault.seal(orphan, {"pw": SECRET})  # sealed, then the save failed (a crash)
    assert tasks.start() == (1, 1)
    uuid = task_uuid(task_id)
    assert uuid is not None and tasks.vault.held() == [uuid]
