"""Task view documents as contract models, and the list cursor."""

from __future__ import annotations

import base64
from typing import Any

from agentplane.contracts.errors import invalid
from agentplane.contracts.tasks import (
    TASK_END_STATES,
    CredentialsState,
    TaskLogEntry,
    TaskStatus,
    TaskSummary,
    TaskView,
)
from agentplane.eventstore.views import ViewTx
from agentplane.messaging.task_projection import TASK, TASK_ITEM, TASK_LOG


def credentials_state(doc: dict[str, Any]) -> CredentialsState:
    if not doc["has_credentials"]:
        return CredentialsState.NONE
    ended = TaskStatus(doc["status"]) in TASK_END_STATES
    return CredentialsState.ERASED if ended else CredentialsState.HELD


def view_of(tx: ViewTx, task_id: str) -> TaskView:
    doc = tx.get(TASK, task_id)
    assert doc is not None, task_id
    lines = sorted(tx.list(TASK_LOG, task_id), key=lambda d: d["seq"])
    items = sorted(tx.list(TASK_ITEM, task_id), key=lambda d: d["index"])
    return TaskView.model_validate(
        {
            **doc,
            "credentials": credentials_state(doc),
            "logs": [TaskLogEntry.model_validate(line) for line in lines],
            "bundle_results": [item["item"] for item in items],
        }
    )


def summary_of(doc: dict[str, Any]) -> TaskSummary:
    return TaskSummary.model_validate(doc)


def task_cursor(doc: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(f"{doc['created_at']}|{doc['task_id']}".encode()).decode()


def cursor_after(cursor: str) -> tuple[str, str]:
    try:
        created, _, task_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
    except (ValueError, UnicodeDecodeError):
        raise invalid("cursor is not one this endpoint returned", field="cursor") from None
    if not task_id:
        raise invalid("cursor is not one this endpoint returned", field="cursor")
    return created, task_id
