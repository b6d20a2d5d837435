"""Seed 003 (device agents, `/api/agent/…`): request bodies and the `data` of the answers.

Answers are `{"success": true, "data": …}`; the models here are what `data` holds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AliasChoices, BeforeValidator, Field, ValidationInfo, field_validator

from agentplane.contracts.device import (
    MAX_CLOCK_SKEW_SECONDS,
    DeviceReconnect,
    ReconnectReason,
    SemVer,
)
from agentplane.contracts.http.base import SnakeModel
from agentplane.contracts.http.timestamps import parse_rfc3339

_UTC_SUFFIX = re.compile(r"(?:[Zz]|\+00:00)$")


def _timestamp(value: Any) -> datetime:
    # Python callers (the SDK) may give an aware datetime; JSON always gives a string.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    parsed = parse_rfc3339(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError("must be an ISO 8601 timestamp such as 2026-03-21T14:30:00Z")
    return parsed


def _utc_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime) and value.utcoffset() == timedelta(0):
        return value.astimezone(UTC)
    parsed = parse_rfc3339(value) if isinstance(value, str) else None
    if parsed is None or not _UTC_SUFFIX.search(value):
        raise ValueError("must be an ISO 8601 UTC timestamp such as 2026-03-21T14:30:00Z")
    return parsed


Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]
UtcTimestamp = Annotated[datetime, BeforeValidator(_utc_timestamp)]
# Metrics are numbers as JSON has them: "15" or true is a client bug, not a number.
Amount = Annotated[float, Field(ge=0, strict=True)]
Text = Annotated[str, Field(max_length=253, strict=True)]


class EnrollBody(SnakeModel):
    """`POST /api/agent/enroll`: a one-time enrollment token and the host's facts."""

    token: str = Field(min_length=1, max_length=512)
    hostname: str = Field(min_length=1, max_length=253)
    os: str = Field(min_length=1, max_length=50)
    arch: str = Field(min_length=1, max_length=50)
    agent_version: SemVer


class SystemMetrics(SnakeModel):
    """Host and process metrics; each is optional, none may have the wrong type."""

    hostname: Text | None = None
    os: Annotated[str, Field(max_length=50, strict=True)] | None = None
    arch: Annotated[str, Field(max_length=50, strict=True)] | None = None
    uptime_seconds: Amount | None = None
    cpu_percent: Annotated[float, Field(ge=0, le=100, strict=True)] | None = None
    memory_mb: Amount | None = None
    disk_free_mb: Amount | None = None
    # A process can use more than one core, so no upper bound of 100.
    process_cpu_percent: Amount | None = None
    process_memory_mb: Amount | None = None


class HeartbeatBody(SnakeModel):
    """`POST /api/agent/heartbeat`; unknown fields are ignored (a newer agent may send more;
    refusing its heartbeats would turn it offline) and never reach telemetry."""

    timestamp: UtcTimestamp
    status: Literal["idle", "executing"]
    current_task: UUID | None = None
    system: SystemMetrics
    agent_version: SemVer
    last_task_completed: UUID | None = None
    reconnect_reason: ReconnectReason | None = None
    process_start_time: Timestamp | None = None

    @field_validator("timestamp")
    @classmethod
    def _not_ahead(cls, value: datetime) -> datetime:
        if value > datetime.now(UTC) + timedelta(seconds=MAX_CLOCK_SKEW_SECONDS):
            raise ValueError(f"is more than {MAX_CLOCK_SKEW_SECONDS} seconds ahead of server time")
        return value

    @field_validator("process_start_time")
    @classmethod
    def _with_reason(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        if info.data.get("reconnect_reason") is None:
            raise ValueError("is only sent with reconnect_reason")
        sent_at = info.data.get("timestamp")
        if sent_at is not None and value > sent_at:
            raise ValueError("is after the heartbeat's timestamp")
        return value

    def reconnect(self) -> DeviceReconnect | None:
        if self.reconnect_reason is None:
            return None
        return DeviceReconnect(
            reason=self.reconnect_reason,
            process_start_time=self.process_start_time,
            reported_at=self.timestamp,
        )

    def telemetry(self) -> dict[str, Any]:
        """The documented fields as reported (the key travels in a header, never here)."""
        data = self.model_dump(mode="json", exclude_none=True)
        data.setdefault("current_task", None)
        data.setdefault("last_task_completed", None)
        return data


class TaskResultBody(SnakeModel):
    """`POST /api/agent/tasks/:id/result`: the outcome, with optional per-control results."""

    success: bool
    result: dict[str, Any] | None = None
    error: str | None = Field(default=None, max_length=4000)
    bundle_results: list[dict[str, Any]] | None = None


class DeviceEnrollment(SnakeModel):
    """The enrolled agent: its id, its API key (shown once) and the release-signing key."""

    agent_id: UUID
    api_key: str
    public_key: str


class DeviceHeartbeatAck(SnakeModel):
    """A recorded heartbeat; `new_api_key` only while a server-initiated rotation waits."""

    acknowledged: bool
    server_time: datetime
    new_api_key: str | None = None


class AgentUpdate(SnakeModel):
    """The release to install: Ed25519 `signature` (base64) over `signed_payload`."""

    version: str
    download_url: str
    sha256: str
    signature: str
    signed_payload: str


class DeviceTask(SnakeModel):
    """A pending task as `GET /api/agent/tasks` lists it (extra fields are kept)."""

    model_config = SnakeModel.model_config | {"extra": "allow"}

    id: str = Field(validation_alias=AliasChoices("id", "task_id", "taskId"))
    task_type: str | None = Field(
        default=None, validation_alias=AliasChoices("task_type", "taskType", "type")
    )
    payload: dict[str, Any] = Field(default_factory=dict)
