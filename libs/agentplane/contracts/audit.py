"""Wire models of the audit log, built from the event log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.paging import MAX_AFTER


def audit_time(value: datetime) -> str:
    """`2026-03-02T10:00:00.000Z`: the one time format of audit entries, metadata included."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class AuditQuery(BaseModel):
    """A page of the audit entries of one agent of a workspace, newest first."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    after: str | None = Field(default=None, max_length=MAX_AFTER)
    limit: int = Field(default=100, ge=1, le=1000)


class AuditEntry(BaseModel):
    """One security-relevant thing that happened to an agent."""

    model_config = ConfigDict(frozen=True)

    id: str
    action: str
    timestamp: datetime
    metadata: dict[str, Any]


class AuditLog(BaseModel):
    """A page of audit entries, newest first; `next_after` None on the last page."""

    model_config = ConfigDict(frozen=True)

    logs: list[AuditEntry]
    next_after: str | None = None
