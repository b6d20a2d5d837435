"""How tasks look in each dialect's JSON (seed 002 camelCase, seed 003 snake_case), and the
request steps every task route shares."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from agentplane.bus.requests import BusClient
from agentplane.contracts.errors import not_found, too_large
from agentplane.contracts.subjects import Messaging
from agentplane.contracts.task_reports import (
    ClaimTasks,
    TaskAssignment,
    TaskAssignments,
)
from agentplane.contracts.tasks import (
    MAX_TASK_ID,
    TaskSummary,
    TaskVia,
    TaskView,
)
from agentplane.gateway.formats import iso_seconds

TASK_NOT_FOUND = "Task not found"


def compact_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def bounded(value: Any, limit: int, field: str) -> None:
    if compact_size(value) > limit:
        raise too_large(f"{field} larger than {limit} bytes", field=field)


def task_id_of(raw: str) -> str:
    if not raw or len(raw) > MAX_TASK_ID:
        raise not_found(TASK_NOT_FOUND)
    return raw


def agent_uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise not_found("Agent not found") from None


async def claim(
    bus: BusClient, workspace_id: str, agent_id: UUID, via: TaskVia
) -> list[TaskAssignment]:
    """Lease the agent's pending tasks (highest priority first, then oldest)."""
    data = await bus.request(
        Messaging.TASK_CLAIM, ClaimTasks(workspace_id=workspace_id, agent_id=agent_id, via=via)
    )
    return TaskAssignments.model_validate(data).tasks


def assignment_json(task: TaskAssignment) -> dict[str, Any]:
    """A task handed to its agent (seed 002: heartbeat answer, poll, task stream)."""
    return {
        "taskId": task.task_id,
        "taskType": task.task_type,
        "payload": task.payload,
        "credentials": task.credentials,
        "timeout": task.timeout_seconds,
        "priority": task.priority,
        "createdAt": iso_seconds(task.created_at),
        "attempt": task.attempt,
        "leaseExpiresAt": iso_seconds(task.lease_expires_at),
    }


def device_task_json(task: TaskAssignment) -> dict[str, Any]:
    """A task handed to a device agent (seed 003 `GET /api/agent/tasks`)."""
    return {
        "id": task.task_id,
        "task_type": task.task_type,
        "payload": task.payload,
        "credentials": task.credentials,
        "timeout": task.timeout_seconds,
        "priority": task.priority,
        "created_at": iso_seconds(task.created_at),
        "attempt": task.attempt,
        "lease_expires_at": iso_seconds(task.lease_expires_at),
    }


def task_json(view: TaskView) -> dict[str, Any]:
    """A task as the operator (or its agent) reads it: never its credentials."""
    return {
        "taskId": view.task_id,
        "agentId": str(view.agent_id),
        "taskType": view.task_type,
        "payload": view.payload,
        "priority": view.priority,
        "timeout": view.timeout_seconds,
        "status": view.status.value,
        "attempts": view.attempts,
        "maxAttempts": view.max_attempts,
        "assignedVia": view.assigned_via.value if view.assigned_via else None,
        "credentialsState": view.credentials.value,
        "progress": view.progress,
        "progressMessage": view.progress_message,
        "logs": [
            {"timestamp": iso_seconds(line.timestamp), "level": line.level, "message": line.message}
            for line in view.logs
        ],
        "logsDropped": view.logs_dropped,
        "result": view.result,
        "error": view.error,
        "bundleResults": view.bundle_results,
        "createdAt": iso_seconds(view.created_at),
        "updatedAt": iso_seconds(view.updated_at),
        "assignedAt": iso_seconds(view.assigned_at),
        "leaseExpiresAt": iso_seconds(view.lease_expires_at),
        "startedAt": iso_seconds(view.started_at),
        "finishedAt": iso_seconds(view.finished_at),
    }


def summary_json(summary: TaskSummary) -> dict[str, Any]:
    """A task in the operator's list (the seed's poll fields, and its state)."""
    return {
        "taskId": summary.task_id,
        "taskType": summary.task_type,
        "priority": summary.priority,
        "createdAt": iso_seconds(summary.created_at),
        "status": summary.status.value,
        "attempts": summary.attempts,
        "updatedAt": iso_seconds(summary.updated_at),
        "finishedAt": iso_seconds(summary.finished_at),
    }
