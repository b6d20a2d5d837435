"""Seed 002, the agent's side of tasks: `GET /api/v1/agents/{id}/tasks` (poll) and
`POST /api/v1/agents/{id}/tasks/{taskId}/complete`.

Polling is the heartbeat's alternative: the answer holds the same pending tasks, highest
priority first, then oldest, each with the seed's `taskId`, `taskType`, `priority`,
`createdAt` and what the agent needs to run it (`payload`, `credentials`, `timeout`). A task
handed out is leased for `timeout` + 5 s and not handed out again meanwhile; a lease that
ends without a completion offers the task again, three hand-outs at most, then it ends as
`timed_out`. The operator (workspace key) gets the agent's tasks instead: newest first, any
state, never credentials (`status`, `limit` 1-500 default 50, `cursor`; the next page's cursor
is in `X-Next-Cursor`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from agentplane.contracts.errors import forbidden
from agentplane.contracts.http.orchestrator import CompleteTaskBody
from agentplane.contracts.subjects import Messaging
from agentplane.contracts.task_reports import (
    CompleteTask,
)
from agentplane.contracts.tasks import (
    MAX_TASK_RESULT_BYTES,
    TASK_PAGE_DEFAULT,
    TASK_PAGE_MAX,
    ListTasks,
    TaskLogInput,
    TaskPage,
    TaskStatus,
    TaskVia,
)
from agentplane.gateway.auth import Bus
from agentplane.gateway.orchestrator_auth import NOT_AUTHORIZED, Caller
from agentplane.gateway.routers.tasks_operator import ERRORS
from agentplane.gateway.routers.tasks_shapes import (
    assignment_json,
    bounded,
    claim,
    summary_json,
    task_id_of,
)

router = APIRouter(tags=["tasks (seeds 002 and 003)"])
NEXT_CURSOR = "X-Next-Cursor"


@router.get(
    "/api/v1/agents/{agent_id}/tasks",
    responses=ERRORS,
    summary="Pending tasks (the agent polls; the operator lists)",
)
async def pending_tasks(
    agent_id: str,
    caller: Caller,
    bus: Bus,
    response: Response,
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=TASK_PAGE_MAX)] = TASK_PAGE_DEFAULT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    target = caller.target(agent_id)
    if caller.agent_id is not None:
        tasks = await claim(bus, caller.workspace_id, target, TaskVia.POLL)
        return {"tasks": [assignment_json(t) for t in tasks]}
    query = ListTasks(
        workspace_id=caller.workspace_id, agent_id=target, status=status, limit=limit,
        cursor=cursor,
    )  # fmt: skip
    page = TaskPage.model_validate(await bus.request(Messaging.TASK_LIST, query))
    if page.next_cursor:
        response.headers[NEXT_CURSOR] = page.next_cursor
    return {"tasks": [summary_json(t) for t in page.tasks]}


@router.post(
    "/api/v1/agents/{agent_id}/tasks/{task_id}/complete",
    responses={**ERRORS, 413: {"description": f"result larger than {MAX_TASK_RESULT_BYTES} bytes"}},
    summary="Report a task's completion (the agent itself)",
)
async def complete_task(
    agent_id: str, task_id: str, body: CompleteTaskBody, caller: Caller, bus: Bus
) -> dict[str, Any]:
    """`{"acknowledged": true}`; completing again (or after the task ended) changes nothing
    and is acknowledged too. Another agent's task answers 404."""
    if caller.agent_id is None:
        # Only the agent reports how its task ended.
        raise forbidden(NOT_AUTHORIZED)
    target = caller.target(agent_id)
    bounded(body.result, MAX_TASK_RESULT_BYTES, "result")
    logs = [TaskLogInput(timestamp=line.timestamp, level=line.level[:16] or "info",
                         message=line.message[:8192]) for line in body.logs]  # fmt: skip
    error = None if body.success else str(body.result.get("error") or "failed")[:4000]
    cmd = CompleteTask(
        workspace_id=caller.workspace_id, agent_id=target, task_id=task_id_of(task_id),
        success=body.success, result=body.result, error=error, logs=logs,
    )  # fmt: skip
    await bus.request(Messaging.TASK_COMPLETE, cmd)
    return {"acknowledged": True}
