"""Seed 003: device agent endpoints (`/api/agent/…`, X-Agent-Key + X-Agent-ID + timestamp).

Answers are `{"success": true, "data": …}`; errors `{"success": false, "error": …}`.
`GET /api/agent/tasks` and `POST /api/agent/tasks/{id}/result` belong to messaging.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from agentplane.contracts.device import (
    MAX_CLOCK_SKEW_SECONDS,
    DeviceEnrolled,
    DeviceHeartbeatSynced,
    DeviceReconnect,
    EnrollDevice,
    FindUpdate,
    ReconnectReason,
    SemVer,
    SyncDeviceHeartbeat,
    UpdateOffer,
)
from agentplane.contracts.subjects import Registry
from agentplane.gateway.app_settings import AppSettings
from agentplane.gateway.auth import Bus
from agentplane.gateway.device_auth import Device, DeviceRoute, parse_rfc3339
from agentplane.gateway.liveness import offline_after, record_beat

router = APIRouter(tags=["device agents (seed 003)"], route_class=DeviceRoute)


def _timestamp(value: Any) -> datetime:
    parsed = parse_rfc3339(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError("must be an ISO 8601 timestamp such as 2026-03-21T14:30:00Z")
    return parsed


def _utc_timestamp(value: Any) -> datetime:
    parsed = parse_rfc3339(value) if isinstance(value, str) else None
    if parsed is None or not _UTC_SUFFIX.search(value):
        raise ValueError("must be an ISO 8601 UTC timestamp such as 2026-03-21T14:30:00Z")
    return parsed


_UTC_SUFFIX = re.compile(r"(?:[Zz]|\+00:00)$")
Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]
UtcTimestamp = Annotated[datetime, BeforeValidator(_utc_timestamp)]
# Metrics are numbers as JSON has them: "15" or true is a client bug, not a number.
Amount = Annotated[float, Field(ge=0, strict=True)]
Text = Annotated[str, Field(max_length=253, strict=True)]


def rfc3339_seconds(value: datetime) -> str:
    """`2026-03-21T14:30:01Z`, the timestamp form of seed 003."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EnrollBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    token: str = Field(min_length=1, max_length=512)
    hostname: str = Field(min_length=1, max_length=253)
    os: str = Field(min_length=1, max_length=50)
    arch: str = Field(min_length=1, max_length=50)
    agent_version: SemVer


class SystemMetrics(BaseModel):
    """Host and process metrics; each is optional, none may have the wrong type."""

    model_config = ConfigDict(extra="ignore")

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


class HeartbeatBody(BaseModel):
    """The documented heartbeat. Unknown fields are ignored (a newer agent may send more;
    refusing its heartbeats would turn it offline) and never reach telemetry."""

    model_config = ConfigDict(extra="ignore")

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


@router.post("/api/agent/enroll")
async def enroll(body: EnrollBody, bus: Bus) -> dict[str, Any]:
    cmd = EnrollDevice(
        token=body.token,
        hostname=body.hostname,
        os=body.os,
        arch=body.arch,
        agent_version=body.agent_version,
    )
    enrolled = DeviceEnrolled.model_validate(await bus.request(Registry.DEVICE_ENROLL, cmd))
    return {
        "success": True,
        "data": {
            "agent_id": str(enrolled.agent_id),
            "api_key": enrolled.api_key,
            "public_key": enrolled.public_key,
        },
    }


@router.post("/api/agent/heartbeat")
async def heartbeat(
    body: HeartbeatBody, device: Device, bus: Bus, settings: AppSettings
) -> dict[str, Any]:
    # The beat itself: the device's deadline moves, the body goes to its telemetry.
    await record_beat(
        bus,
        settings,
        device.agent_id,
        offline_after(settings, settings.device_heartbeat_interval_seconds),
        body.telemetry(),
    )
    new_api_key: str | None = None
    reconnect = body.reconnect()
    # Most heartbeats need nothing from the registry beyond the key check.
    if device.rotation_due or device.agent_version != body.agent_version or reconnect is not None:
        synced = DeviceHeartbeatSynced.model_validate(
            await bus.request(
                Registry.DEVICE_HEARTBEAT_SYNC,
                SyncDeviceHeartbeat(
                    agent_id=device.agent_id,
                    agent_version=body.agent_version,
                    reconnect=reconnect,
                ),
            )
        )
        new_api_key = synced.new_api_key
    data: dict[str, Any] = {"acknowledged": True, "server_time": rfc3339_seconds(datetime.now(UTC))}
    if new_api_key is not None:
        data["new_api_key"] = new_api_key
    return {"success": True, "data": data}


@router.get("/api/agent/update")
async def update(device: Device, bus: Bus) -> dict[str, Any]:
    offer = UpdateOffer.model_validate(
        await bus.request(
            Registry.RELEASE_FIND_UPDATE,
            FindUpdate(workspace_id=device.workspace_id, agent_version=device.agent_version),
        )
    )
    release = offer.release
    if release is None:
        # Nothing to offer: no release yet, or every release is older than the agent.
        return {"success": True, "data": None}
    return {
        "success": True,
        "data": {
            "version": release.version,
            "download_url": release.url,
            "sha256": release.sha256,
            "signature": release.signature,
            "signed_payload": release.signed_payload,
        },
    }
