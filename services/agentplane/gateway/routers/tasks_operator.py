"""The operator's side of tasks (DESIGN §1): create, read and cancel a task of an agent.

`x-api-key` (the workspace key) for all three; an agent's own JWT or certificate may also read
its own task (without credentials, like everyone). Bounds: `payload` up to 64 KiB of compact
JSON (413 beyond), up to 32 `credentials` of up to 4096 characters each, `priority`
-1000…1000 (default 0, higher first), `timeout` 1…86400 s (default 300).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header

from agentplane.contracts.errors import invalid
from agentplane.contracts.http.tasks import CreateTaskBody
from agentplane.contracts.subjects import Messaging
from agentplane.contracts.tasks import (
    DEFAULT_TASK_PRIORITY,
    DEFAULT_TASK_TIMEOUT_SECONDS,
    MAX_CREDENTIAL_NAME,
    MAX_CREDENTIAL_VALUE,
    MAX_IDEMPOTENCY_KEY,
    MAX_TASK_PAYLOAD_BYTES,
    CancelTask,
    CreateTask,
    GetTask,
    TaskCreated,
    TaskView,
)
from agentplane.gateway.auth import Bus
from agentplane.gateway.orchestrator_auth import Caller
from agentplane.gateway.routers.tasks_shapes import (
    agent_uuid,
    bounded,
    task_id_of,
    task_json,
)

router = APIRouter(tags=["tasks (seeds 002 and 003)"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request (the field is named)"},
    401: {"description": "Missing or invalid credentials"},
    403: {"description": "Agent not authorized for this operation (an agent's credential)"},
    404: {"description": "Agent (or task) not found in this workspace"},
}


def _credentials(credentials: dict[str, str] | None) -> dict[str, str] | None:
    for name, value in (credentials or {}).items():
        if not 0 < len(name) <= MAX_CREDENTIAL_NAME:
            raise invalid(f"credential names are 1 to {MAX_CREDENTIAL_NAME} characters",
                          field="credentials")  # fmt: skip
        if len(value) > MAX_CREDENTIAL_VALUE:
            raise invalid(f"credential values are at most {MAX_CREDENTIAL_VALUE} characters",
                          field=f"credentials.{name}")  # fmt: skip
    return credentials or None


@router.post(
    "/api/v1/agents/{agent_id}/tasks",
    status_code=201,
    responses={
        **ERRORS,
        409: {"description": "Idempotency-Key already used for another task"},
        413: {"description": f"payload larger than {MAX_TASK_PAYLOAD_BYTES} bytes"},
    },
    summary="Create a task for an agent (workspace key)",
)
async def create_task(
    agent_id: str,
    body: CreateTaskBody,
    caller: Caller,
    bus: Bus,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="The same key for the same agent returns the first task (no new one)",
        ),
    ] = None,
) -> dict[str, Any]:
    """Queue a task; the agent gets it in its next heartbeat answer, poll or task stream."""
    caller.require_operator()
    target = agent_uuid(agent_id)
    bounded(body.payload, MAX_TASK_PAYLOAD_BYTES, "payload")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise invalid(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
                      field="Idempotency-Key")  # fmt: skip
    cmd = CreateTask(
        workspace_id=caller.workspace_id,
        agent_id=target,
        task_type=body.task_type,
        payload=body.payload,
        credentials=_credentials(body.credentials),
        priority=DEFAULT_TASK_PRIORITY if body.priority is None else body.priority,
        timeout_seconds=body.timeout or DEFAULT_TASK_TIMEOUT_SECONDS,
        idempotency_key=idempotency_key,
    )
    created = TaskCreated.model_validate(await bus.request(Messaging.TASK_CREATE, cmd))
    return task_json(created.task)


@router.get(
    "/api/v1/agents/{agent_id}/tasks/{task_id}",
    responses=ERRORS,
    summary="A task's state, progress, log lines and result",
)
async def get_task(agent_id: str, task_id: str, caller: Caller, bus: Bus) -> dict[str, Any]:
    target = caller.target(agent_id)
    query = GetTask(workspace_id=caller.workspace_id, agent_id=target, task_id=task_id_of(task_id))
    return task_json(TaskView.model_validate(await bus.request(Messaging.TASK_GET, query)))


@router.delete(
    "/api/v1/agents/{agent_id}/tasks/{task_id}",
    responses={**ERRORS, 409: {"description": "The task has already ended"}},
    summary="Cancel a task that has not ended (workspace key)",
)
async def cancel_task(agent_id: str, task_id: str, caller: Caller, bus: Bus) -> dict[str, Any]:
    """The task ends as `cancelled`; an agent holding it hears `task_cancelled` on its task
    stream, and its credentials are erased."""
    caller.require_operator()
    cmd = CancelTask(
        workspace_id=caller.workspace_id, agent_id=agent_uuid(agent_id), task_id=task_id_of(task_id)
    )
    return task_json(TaskView.model_validate(await bus.request(Messaging.TASK_CANCEL, cmd)))
