"""Seed 002 tasks, called the way the document shows: the operator creates a task (workspace
key), the agent receives it in its heartbeat answer (`tasks: [{taskId, taskType, payload,
credentials, timeout}]`) or by polling `GET /api/v1/agents/{id}/tasks`, and reports
`POST …/tasks/{taskId}/complete` → `{"acknowledged": true}`. Credentials reach only the agent
and rest nowhere in clear; they are erased when the task ends."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from tests.e2e.tasks_helpers import (
    DOC_COMPLETE,
    DOC_PAYLOAD,
    assert_error,
    bearer,
    create_task,
    credentials,
    heartbeat,
    key_headers,
    no_secret_rests_in,
    sealed_files,
    task_state,
    wait_for,
)
from tests.nats_auth.agents import seed002_agent

from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system
FORBIDDEN = "Agent not authorized for this operation"


def complete(
    http: httpx.Client, agent_id: str, token: str, task_id: str, body: Any = None
) -> httpx.Response:
    url = f"/api/v1/agents/{agent_id}/tasks/{task_id}/complete"
    return http.post(url, json=DOC_COMPLETE if body is None else body, headers=bearer(token))


def test_create_answers_201_and_documents_its_errors(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = seed002_agent(http, workspace)
    created = create_task(http, workspace, agent_id, priority=10, timeout=300)
    assert created["taskId"].startswith("task_") and created["status"] == "pending"
    assert created["taskType"] == "docker.pull" and created["payload"] == DOC_PAYLOAD
    assert created["priority"] == 10 and created["timeout"] == 300
    assert created["credentialsState"] == "none" and created["attempts"] == 0
    defaults = create_task(http, workspace, agent_id)
    assert defaults["priority"] == 0 and defaults["timeout"] == 300

    url = f"/api/v1/agents/{agent_id}/tasks"
    for body, field in (
        ({"payload": {}}, "taskType"),
        ({"taskType": "x", "payload": []}, "payload"),
        ({"taskType": "x", "priority": "10"}, "priority"),
        ({"taskType": "x", "timeout": 0}, "timeout"),
        ({"taskType": "x", "credentials": {"a": 1}}, "credentials.a"),
    ):
        response = http.post(url, json=body, headers=key_headers(workspace))
        assert_error(response, 400)
        named = [f["field"] for f in response.json()["details"]["fields"]]
        assert field in named, response.text
    big = {"taskType": "x", "payload": {"blob": "x" * (64 * 1024)}}
    assert_error(http.post(url, json=big, headers=key_headers(workspace)), 413)
    assert_error(http.post(url, json={"taskType": "x"}), 401)
    assert_error(http.post(url, json={"taskType": "x"}, headers=bearer(token)), 403, FORBIDDEN)
    unknown = f"/api/v1/agents/{uuid.uuid4()}/tasks"
    assert_error(http.post(unknown, json={"taskType": "x"}, headers=key_headers(workspace)), 404)

    keyed = {**key_headers(workspace), "Idempotency-Key": "create-1"}
    first = http.post(url, json={"taskType": "x"}, headers=keyed)
    again = http.post(url, json={"taskType": "x"}, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert first.json()["taskId"] == again.json()["taskId"]
    assert_error(http.post(url, json={"taskType": "y"}, headers=keyed), 409)


def test_heartbeat_hands_out_pending_tasks_by_priority_then_age_once_per_lease(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    agent_id, token = seed002_agent(http, workspace)
    secret = credentials()
    low = create_task(http, workspace, agent_id, priority=1)
    old = create_task(http, workspace, agent_id, priority=10, credentials=secret)
    new = create_task(http, workspace, agent_id, priority=10)
    assert task_state(http, workspace, agent_id, old["taskId"])["credentialsState"] == "held"
    assert len(sealed_files(system.data_dir)) >= 1
    no_secret_rests_in(system.data_dir, secret["registry.password"])

    tasks = heartbeat(http, agent_id, token)
    assert [t["taskId"] for t in tasks] == [old["taskId"], new["taskId"], low["taskId"]]
    first = tasks[0]
    assert first["taskType"] == "docker.pull" and first["payload"] == DOC_PAYLOAD
    assert first["credentials"] == secret and first["timeout"] == 300
    assert tasks[1]["credentials"] is None
    # Leased: neither the next heartbeat nor a poll hands them out again.
    assert heartbeat(http, agent_id, token) == []
    polled = http.get(f"/api/v1/agents/{agent_id}/tasks", headers=bearer(token))
    assert polled.status_code == 200 and polled.json() == {"tasks": []}

    state = task_state(http, workspace, agent_id, old["taskId"])
    assert state["status"] == "assigned" and state["assignedVia"] == "heartbeat"
    assert state["attempts"] == 1 and state["leaseExpiresAt"]
    listed = http.get(f"/api/v1/agents/{agent_id}/tasks", headers=key_headers(workspace))
    assert listed.status_code == 200
    for shown in (state, listed.json(), create_task(http, workspace, agent_id, credentials=secret)):
        assert secret["registry.password"] not in str(shown)
    no_secret_rests_in(system.data_dir, secret["registry.password"])


def test_polling_gets_the_documented_fields_and_only_its_own(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = seed002_agent(http, workspace)
    other_id, other_token = seed002_agent(http, workspace)
    task = create_task(http, workspace, agent_id, taskType="docker.run", priority=10)
    url = f"/api/v1/agents/{agent_id}/tasks"
    assert_error(http.get(url, headers=bearer(other_token)), 403, FORBIDDEN)
    assert_error(http.get(url), 401)
    assert_error(http.get(url, headers=bearer("not-a-jwt")), 401)
    polled = http.get(url, headers=bearer(token))
    assert polled.status_code == 200, polled.text
    (entry,) = polled.json()["tasks"]
    assert entry["taskId"] == task["taskId"] and entry["taskType"] == "docker.run"
    assert entry["priority"] == 10 and entry["createdAt"].endswith("Z")
    assert entry["payload"] == DOC_PAYLOAD and entry["timeout"] == 300
    assert http.get(f"/api/v1/agents/{other_id}/tasks", headers=bearer(other_token)).json() == {
        "tasks": []
    }
    assert task_state(http, workspace, agent_id, task["taskId"])["assignedVia"] == "poll"
    # The operator lists every task of the agent, newest first, with its state.
    listed = http.get(url, headers=key_headers(workspace)).json()["tasks"]
    assert [(t["taskId"], t["status"]) for t in listed] == [(task["taskId"], "assigned")]


def test_complete_is_acknowledged_once_and_recorded_with_result_and_logs(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    agent_id, token = seed002_agent(http, workspace)
    other_id, other_token = seed002_agent(http, workspace)
    secret = credentials()
    task = create_task(http, workspace, agent_id, credentials=secret)
    assert heartbeat(http, agent_id, token)[0]["credentials"] == secret
    task_id = task["taskId"]

    assert_error(complete(http, other_id, other_token, task_id), 404)
    assert_error(complete(http, agent_id, other_token, task_id), 403, FORBIDDEN)
    operator = http.post(f"/api/v1/agents/{agent_id}/tasks/{task_id}/complete",
                         json=DOC_COMPLETE, headers=key_headers(workspace))  # fmt: skip
    assert_error(operator, 403, FORBIDDEN)
    assert_error(complete(http, agent_id, token, task_id, {"result": {}}), 400)
    assert_error(complete(http, agent_id, token, "task_" + "0" * 32), 404)

    response = complete(http, agent_id, token, task_id)
    assert response.status_code == 200 and response.json() == {"acknowledged": True}
    failed_later = {**DOC_COMPLETE, "success": False}
    again = complete(http, agent_id, token, task_id, failed_later)
    assert again.status_code == 200 and again.json() == {"acknowledged": True}

    state = task_state(http, workspace, agent_id, task_id)
    assert state["status"] == "succeeded" and state["result"] == DOC_COMPLETE["result"]
    assert [(e["timestamp"], e["level"], e["message"]) for e in state["logs"]] == [
        (e["timestamp"], e["level"], e["message"]) for e in DOC_COMPLETE["logs"]
    ]
    assert state["credentialsState"] == "erased" and state["finishedAt"]
    uuid_hex = task_id.removeprefix("task_")
    assert all(path.stem != uuid_hex for path in sealed_files(system.data_dir))
    no_secret_rests_in(system.data_dir, secret["registry.password"])

    # Audit: created and succeeded are entries, without payload or credentials.
    def audited() -> list[dict[str, Any]] | None:
        logs = http.get(f"/v1/agents/{agent_id}/audit-logs", headers=key_headers(workspace))
        found = [e for e in logs.json()["logs"] if e["action"].startswith("task_")]
        return found if len(found) == 2 else None

    entries = wait_for(audited, 15, "audit entries")
    assert sorted(e["action"] for e in entries) == ["task_created", "task_succeeded"]
    assert DOC_PAYLOAD["image"] not in str(entries) and "sha256" not in str(entries)


def test_operator_cancels_an_open_task_once(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, token = seed002_agent(http, workspace)
    task = create_task(http, workspace, agent_id, credentials=credentials())
    url = f"/api/v1/agents/{agent_id}/tasks/{task['taskId']}"
    assert_error(http.delete(url, headers=bearer(token)), 403, FORBIDDEN)
    cancelled = http.delete(url, headers=key_headers(workspace))
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled" and body["credentialsState"] == "erased"
    assert_error(http.delete(url, headers=key_headers(workspace)), 409)
    assert heartbeat(http, agent_id, token) == []
    assert_error(http.delete(url + "x", headers=key_headers(workspace)), 404)
    assert_error(http.get(url + "x", headers=key_headers(workspace)), 404)
    # The agent may read its own task; another agent may not.
    _, other_token = seed002_agent(http, workspace)
    assert http.get(url, headers=bearer(token)).json()["status"] == "cancelled"
    assert_error(http.get(url, headers=bearer(other_token)), 403, FORBIDDEN)


def test_a_lapsed_lease_is_offered_again_then_times_out_after_three_attempts(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = seed002_agent(http, workspace)
    task = create_task(http, workspace, agent_id, timeout=1, credentials=credentials())
    task_id = task["taskId"]
    # Each lease is timeout (1 s) + 5 s grace; generous waits for a busy machine.
    for attempt in (1, 2, 3):
        handed = wait_for(lambda: heartbeat(http, agent_id, token), 30, f"attempt {attempt}")
        assert [t["taskId"] for t in handed] == [task_id]
        assert handed[0]["attempt"] == attempt
    state = wait_for(
        lambda: (
            (s := task_state(http, workspace, agent_id, task_id))["status"] == "timed_out" and s
        ),
        30,
        "timed out",
    )
    assert state["attempts"] == 3 and state["credentialsState"] == "erased"
    time.sleep(0.5)
    assert heartbeat(http, agent_id, token) == []


def test_deleting_the_agent_cancels_its_open_tasks(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, _ = seed002_agent(http, workspace)
    task = create_task(http, workspace, agent_id, credentials=credentials())
    deleted = http.delete(f"/api/v1/agents/{agent_id}", headers=key_headers(workspace))
    assert deleted.status_code == 200, deleted.text
    state = wait_for(
        lambda: (
            (s := task_state(http, workspace, agent_id, task["taskId"]))["status"] == "cancelled"
            and s
        ),
        20,
        "cancelled",
    )
    assert state["error"] == "cancelled: agent_gone" and state["credentialsState"] == "erased"
