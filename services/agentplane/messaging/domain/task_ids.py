"""A task's public id (`task_<hex>` of its aggregate id), and the aggregate id an
Idempotency-Key names (the same key for the same agent names the same task).
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

_IDEMPOTENCY_NS = uuid5(NAMESPACE_URL, "agentplane:task-idempotency-key")
PREFIX = "task_"


def public_task_id(task_uuid: UUID) -> str:
    return PREFIX + task_uuid.hex


def task_uuid(public_id: str) -> UUID | None:
    """The aggregate id behind `task_<hex>`, or None for anything else."""
    if not public_id.startswith(PREFIX):
        return None
    try:
        return UUID(hex=public_id[len(PREFIX) :])
    except ValueError:
        return None


def idempotent_task_uuid(workspace_id: str, agent_id: UUID, key: str) -> UUID:
    """The same key for the same agent names the same task (a retry creates nothing)."""
    return uuid5(_IDEMPOTENCY_NS, f"{workspace_id}/{agent_id}/{key}")
