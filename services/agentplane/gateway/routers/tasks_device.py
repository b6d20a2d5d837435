"""Seed 003, a device agent's tasks: `GET /api/agent/tasks` and `POST /api/agent/tasks/:id/result`.

Polling hands out the agent's pending tasks (highest priority first, then oldest) under the
same lease as seed 002: `timeout` + 5 s, then offered again, three hand-outs at most. The answer
is `{"success": true, "data": [{"id", "task_type", "payload", "credentials", "timeout",
"priority", "created_at", …}]}`. A result is recorded once, with each element of
`bundle_results` kept as its own per-item result (the operator reads them in order under
`bundleResults`); a repeated report is acknowledged and changes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agentplane.contracts.errors import too_large
from agentplane.contracts.http.device import TaskResultBody
from agentplane.contracts.subjects import Messaging
from agentplane.contracts.task_reports import (
    CompleteTask,
    TaskReportAccepted,
)
from agentplane.contracts.tasks import (
    MAX_BUNDLE_RESULTS,
    MAX_TASK_RESULT_BYTES,
    TaskVia,
)
from agentplane.gateway.auth import Bus
from agentplane.gateway.device_auth import Device, DeviceRoute
from agentplane.gateway.routers.tasks_shapes import bounded, claim, device_task_json, task_id_of

router = APIRouter(tags=["device agents (seed 003)"], route_class=DeviceRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request: `{success: false, error}`"},
    401: {"description": "Missing or invalid agent key, id or timestamp"},
    404: {"description": "No such task of this agent"},
    413: {"description": "result or bundle_results too large"},
}


@router.get("/api/agent/tasks", responses=ERRORS)
async def poll_tasks(device: Device, bus: Bus) -> dict[str, Any]:
    """Pending tasks for this agent (each leased to it from now on)."""
    tasks = await claim(bus, device.workspace_id, device.agent_id, TaskVia.DEVICE_POLL)
    return {"success": True, "data": [device_task_json(t) for t in tasks]}


@router.post("/api/agent/tasks/{task_id}/result", responses=ERRORS)
async def report_result(
    task_id: str, body: TaskResultBody, device: Device, bus: Bus
) -> dict[str, Any]:
    """Record the execution result, with optional per-control `bundle_results`."""
    items = list(body.bundle_results or [])
    if len(items) > MAX_BUNDLE_RESULTS:
        raise too_large(f"at most {MAX_BUNDLE_RESULTS} bundle_results", field="bundle_results")
    result = body.result or {}
    bounded(result, MAX_TASK_RESULT_BYTES, "result")
    bounded(items, MAX_TASK_RESULT_BYTES, "bundle_results")
    cmd = CompleteTask(
        workspace_id=device.workspace_id,
        agent_id=device.agent_id,
        task_id=task_id_of(task_id),
        success=body.success,
        result=result,
        error=None if body.success else (body.error or "failed"),
        bundle_results=items,
    )
    accepted = TaskReportAccepted.model_validate(await bus.request(Messaging.TASK_COMPLETE, cmd))
    return {
        "success": True,
        "data": {
            "acknowledged": True,
            "task_id": accepted.task_id,
            "status": accepted.status.value,
            "recorded": accepted.recorded,
            "bundle_results": len(items),
        },
    }
