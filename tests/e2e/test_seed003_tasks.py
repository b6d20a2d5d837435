"""Seed 003 device tasks, called the way the document shows: `GET /api/agent/tasks` and
`POST /api/agent/tasks/:id/result` with the three device headers; `bundle_results` become
per-item results the operator reads; a repeated report is harmless."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.e2e.tasks_helpers import (
    DOC_PAYLOAD,
    create_task,
    credentials,
    no_secret_rests_in,
    task_state,
)
from tests.nats_auth.agents import device_headers, seed003_agent

from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


def poll(http: httpx.Client, agent_id: str, api_key: str) -> httpx.Response:
    return http.get("/api/agent/tasks", headers=device_headers(agent_id, api_key))


def report(
    http: httpx.Client, agent_id: str, api_key: str, task_id: str, body: dict[str, Any]
) -> httpx.Response:
    return http.post(f"/api/agent/tasks/{task_id}/result", json=body,
                     headers=device_headers(agent_id, api_key))  # fmt: skip


def device_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and isinstance(body["error"], str) and body["error"]


def test_poll_hands_out_pending_tasks_and_results_fan_out_per_item(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    agent_id, api_key = seed003_agent(http, workspace)
    secret = credentials()
    second = create_task(http, workspace, agent_id, taskType="scan", priority=1)
    first = create_task(http, workspace, agent_id, taskType="compliance.bundle", priority=9,
                        credentials=secret)  # fmt: skip

    polled = poll(http, agent_id, api_key)
    assert polled.status_code == 200, polled.text
    body = polled.json()
    assert body["success"] is True
    assert [t["id"] for t in body["data"]] == [first["taskId"], second["taskId"]]
    task = body["data"][0]
    assert task["task_type"] == "compliance.bundle" and task["payload"] == DOC_PAYLOAD
    assert task["credentials"] == secret and task["timeout"] == 300
    assert poll(http, agent_id, api_key).json() == {"success": True, "data": []}
    assert task_state(http, workspace, agent_id, first["taskId"])["assignedVia"] == "device_poll"

    result = {
        "success": True,
        "result": {"passed": 2, "failed": 1},
        "bundle_results": [
            {"control": "CIS-1.1", "status": "pass"},
            {"control": "CIS-1.2", "status": "pass"},
            {"control": "CIS-2.1", "status": "fail", "evidence": "port 23 open"},
        ],
    }
    answered = report(http, agent_id, api_key, first["taskId"], result)
    assert answered.status_code == 200, answered.text
    data = answered.json()["data"]
    assert answered.json()["success"] is True and data["acknowledged"] is True
    assert data["status"] == "succeeded" and data["recorded"] is True
    assert data["bundle_results"] == 3
    repeated = report(http, agent_id, api_key, first["taskId"], result)
    assert repeated.status_code == 200 and repeated.json()["data"]["recorded"] is False

    state = task_state(http, workspace, agent_id, first["taskId"])
    assert state["status"] == "succeeded" and state["result"] == {"passed": 2, "failed": 1}
    assert state["bundleResults"] == result["bundle_results"]
    assert state["credentialsState"] == "erased"

    failed = report(http, agent_id, api_key, second["taskId"],
                    {"success": False, "error": "scanner missing"})  # fmt: skip
    assert failed.status_code == 200 and failed.json()["data"]["status"] == "failed"
    assert task_state(http, workspace, agent_id, second["taskId"])["error"] == "scanner missing"
    no_secret_rests_in(system.data_dir, secret["registry.password"])


def test_device_task_errors(http: httpx.Client, workspace: dict[str, Any]) -> None:
    agent_id, api_key = seed003_agent(http, workspace)
    other_id, other_key = seed003_agent(http, workspace)
    task = create_task(http, workspace, agent_id)
    device_error(http.get("/api/agent/tasks"), 401)
    device_error(poll(http, agent_id, other_key), 401)
    device_error(report(http, other_id, other_key, task["taskId"], {"success": True}), 404)
    device_error(report(http, agent_id, api_key, task["taskId"], {"result": {}}), 400)
    bad_items = {"success": True, "bundle_results": ["not an object"]}
    device_error(report(http, agent_id, api_key, task["taskId"], bad_items), 400)
    device_error(report(http, agent_id, api_key, "task_nope", {"success": True}), 404)
    assert task_state(http, workspace, agent_id, task["taskId"])["status"] == "pending"
