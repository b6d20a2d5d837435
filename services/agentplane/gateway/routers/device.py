"""Seed 003: device agent endpoints (`/api/agent/…`, X-Agent-Key + X-Agent-ID + timestamp).

Answers are `{"success": true, "data": …}`; errors `{"success": false, "error": …}`.
`GET /api/agent/tasks` and `POST /api/agent/tasks/{id}/result` belong to messaging.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from agentplane.contracts.device import (
    DEVICE_DIALECT,
    DeviceEnrolled,
    DeviceHeartbeatSynced,
    EnrollDevice,
    FindUpdate,
    SyncDeviceHeartbeat,
    UpdateOffer,
)
from agentplane.contracts.http.device import EnrollBody, HeartbeatBody
from agentplane.contracts.http.timestamps import rfc3339_seconds
from agentplane.contracts.subjects import Registry
from agentplane.gateway.app_settings import AppSettings
from agentplane.gateway.auth import Bus
from agentplane.gateway.device_auth import Device, DeviceRoute
from agentplane.gateway.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotency
from agentplane.gateway.liveness import record_beat

router = APIRouter(tags=["device agents (seed 003)"], route_class=DeviceRoute)


@router.post(
    "/api/agent/enroll",
    responses={
        **IDEMPOTENCY_RESPONSES,
        401: {"description": "Invalid, used or expired enrollment token"},
    },
)
async def enroll(
    body: EnrollBody, bus: Bus, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Trade a one-time enrollment token for an agent id and API key; a retry with the same
    token and Idempotency-Key (the answer was lost) gets the same identity."""
    # The token is the principal: only its holder can replay the answer.
    scope = "enroll:" + hashlib.sha256(body.token.encode()).hexdigest()
    cmd = EnrollDevice(
        token=body.token,
        hostname=body.hostname,
        os=body.os,
        arch=body.arch,
        agent_version=body.agent_version,
        idempotency=idempotency(idempotency_key, scope, "device.enroll", body),
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
    await record_beat(bus, settings, device.agent_id, body.telemetry(), dialect=DEVICE_DIALECT)
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
