"""Seed 002 `WS /api/v1/agents/{id}/task-stream`: refused before anything is sent when
unauthenticated or foreign; otherwise `task_assigned` for what is pending and for new tasks
as they come, `task_cancelled`, and the agent's `task_progress` / `task_log` recorded on the
task for the operator."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from tests.e2e.tasks_helpers import (
    DOC_PAYLOAD,
    bearer,
    create_task,
    credentials,
    key_headers,
    task_state,
    wait_for,
)
from tests.nats_auth.agents import seed002_agent
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


def stream_url(system: RunningSystem, agent_id: str) -> str:
    return f"ws://127.0.0.1:{system.port}/api/v1/agents/{agent_id}/task-stream"


async def frame(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout)))


async def refused(system: RunningSystem, agent_id: str, headers: dict[str, str]) -> int:
    """The close code of a refused stream; fails if any frame arrives first."""
    async with connect(stream_url(system, agent_id), additional_headers=headers) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            received = await asyncio.wait_for(ws.recv(), 10)
            pytest.fail(f"a refused stream sent {received!r}")
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code


async def test_unauthenticated_or_foreign_streams_are_refused_before_any_task(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = seed002_agent(http, workspace)
    _, other_token = seed002_agent(http, workspace)
    create_task(http, workspace, agent_id, credentials=credentials())
    assert await refused(system, agent_id, {}) == 4401
    assert await refused(system, agent_id, {"Authorization": "Bearer nope"}) == 4401
    assert await refused(system, agent_id, {"Authorization": f"Bearer {other_token}"}) == 4403
    assert await refused(system, agent_id, {"x-api-key": workspace["apiKey"]}) == 4403
    await asyncio.to_thread(nothing_was_handed_out, http, agent_id, token, other_token)


def nothing_was_handed_out(http: httpx.Client, agent_id: str, token: str, other: str) -> None:
    # The task is still pending: nothing was handed to a refused stream.
    polled = http.get(f"/api/v1/agents/{agent_id}/tasks", headers=bearer(token)).json()
    assert len(polled["tasks"]) == 1
    # A plain GET of the stream URL says it needs an upgrade (after the same checks).
    plain = http.get(f"/api/v1/agents/{agent_id}/task-stream", headers=bearer(token))
    assert plain.status_code == 426 and plain.headers["Upgrade"] == "websocket"
    foreign = http.get(f"/api/v1/agents/{agent_id}/task-stream", headers=bearer(other))
    assert foreign.status_code == 403


async def test_stream_assigns_pending_and_new_tasks_cancels_and_records_reports(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    agent_id, token = seed002_agent(http, workspace)
    secret = credentials()
    waiting = create_task(http, workspace, agent_id, credentials=secret, priority=5)
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(stream_url(system, agent_id), additional_headers=headers) as ws:
        first = await frame(ws)
        assert first["type"] == "task_assigned"
        task = first["task"]
        assert task["taskId"] == waiting["taskId"] and task["taskType"] == "docker.pull"
        assert task["payload"] == DOC_PAYLOAD and task["credentials"] == secret
        assert task["timeout"] == 300 and task["priority"] == 5

        live = await asyncio.to_thread(create_task, http, workspace, agent_id, taskType="x")
        pushed = await frame(ws)
        assert pushed == {"type": "task_assigned", "task": pushed["task"]}
        assert pushed["task"]["taskId"] == live["taskId"]

        task_id = waiting["taskId"]
        await ws.send(json.dumps({"type": "task_progress", "taskId": task_id, "progress": 50,
                                  "message": "Pulling layer 3/5"}))  # fmt: skip
        await ws.send(json.dumps({"type": "task_log", "taskId": task_id, "level": "info",
                                  "message": "layer 3 done"}))  # fmt: skip
        await ws.send(json.dumps({"type": "task_progress", "taskId": task_id, "progress": 500}))
        error = await frame(ws)
        assert error["type"] == "error" and "progress" in error["message"]
        await ws.send(json.dumps({"type": "task_log", "taskId": "task_" + "0" * 32,
                                  "message": "x"}))  # fmt: skip
        assert (await frame(ws))["message"] == "Task not found"

        def reported() -> dict[str, Any] | None:
            state = task_state(http, workspace, agent_id, task_id)
            return state if state["logs"] and state["progress"] == 50 else None

        state = await asyncio.to_thread(wait_for, reported, 10, "progress and log")
        assert state["status"] == "running" and state["progressMessage"] == "Pulling layer 3/5"
        assert [(e["level"], e["message"]) for e in state["logs"]] == [("info", "layer 3 done")]
        assert state["assignedVia"] == "stream"

        cancelled = await asyncio.to_thread(
            http.delete, f"/api/v1/agents/{agent_id}/tasks/{live['taskId']}",
            headers=key_headers(workspace),
        )  # fmt: skip
        assert cancelled.status_code == 200
        assert await frame(ws) == {"type": "task_cancelled", "taskId": live["taskId"]}
        # Progress for the cancelled task is answered with the cancellation again.
        await ws.send(json.dumps({"type": "task_progress", "taskId": live["taskId"]}))
        assert await frame(ws) == {"type": "task_cancelled", "taskId": live["taskId"]}

    done = await asyncio.to_thread(
        http.post, f"/api/v1/agents/{agent_id}/tasks/{task_id}/complete",
        json={"success": True, "result": {"ok": 1}}, headers=bearer(token),
    )  # fmt: skip
    assert done.json() == {"acknowledged": True}
    final = await asyncio.to_thread(task_state, http, workspace, agent_id, task_id)
    assert final["status"] == "succeeded"
