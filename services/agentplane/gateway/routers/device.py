"""Seed 003: device agent endpoints (`/api/agent/…`, X-Agent-Key + X-Agent-ID + timestamp).

Answers are `{"success": true, "data": …}`; errors `{"success": false, "error": …}`.
`GET /api/agent/tasks` and `POST /api/agent/tasks/{id}/result` belong to messaging.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from agentplane.contracts.device import (
    DeviceEnrolled,
    DeviceHeartbeatSynced,
    EnrollDevice,
    FindUpdate,
    SemVer,
    SyncDeviceHeartbeat,
    UpdateOffer,
)
from agentplane.contracts.subjects import Registry
from agentplane.gateway.auth import Bus
from agentplane.gateway.device_auth import Device, DeviceRoute, parse_rfc3339

router = APIRouter(tags=["device agents (seed 003)"], route_class=DeviceRoute)


def _timestamp(value: Any) -> datetime:
    parsed = parse_rfc3339(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError("must be an ISO 8601 UTC timestamp such as 2026-03-21T14:30:00Z")
    return parsed


Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]


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


class ReconnectReason(StrEnum):
    """Why the agent was offline (sent on the first heartbeat after a gap)."""

    SERVICE_RESTART = "service_restart"
    NETWORK_RECOVERY = "network_recovery"
    MACHINE_REBOOT = "machine_reboot"
    UPDATE_RESTART = "update_restart"


class SystemMetrics(BaseModel):
    model_config = ConfigDict(extra="ignore")

    hostname: str | None = Field(default=None, max_length=253)
    os: str | None = Field(default=None, max_length=50)
    arch: str | None = Field(default=None, max_length=50)
    uptime_seconds: float | None = Field(default=None, ge=0)
    cpu_percent: float | None = Field(default=None, ge=0, le=100)
    memory_mb: float | None = Field(default=None, ge=0)
    disk_free_mb: float | None = Field(default=None, ge=0)
    # A process can use more than one core, so no upper bound of 100.
    process_cpu_percent: float | None = Field(default=None, ge=0)
    process_memory_mb: float | None = Field(default=None, ge=0)


class HeartbeatBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timestamp: Timestamp
    status: Literal["idle", "executing"]
    current_task: UUID | None = None
    system: SystemMetrics
    agent_version: SemVer
    last_task_completed: UUID | None = None
    reconnect_reason: ReconnectReason | None = None
    process_start_time: Timestamp | None = None


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
async def heartbeat(body: HeartbeatBody, device: Device, bus: Bus) -> dict[str, Any]:
    new_api_key: str | None = None
    # Most heartbeats need nothing from the registry beyond the key check.
    if device.rotation_due or device.agent_version != body.agent_version:
        synced = DeviceHeartbeatSynced.model_validate(
            await bus.request(
                Registry.DEVICE_HEARTBEAT_SYNC,
                SyncDeviceHeartbeat(agent_id=device.agent_id, agent_version=body.agent_version),
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
