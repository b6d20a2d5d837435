"""Operator side of seed 003 (workspace key): API key rotation and signed agent releases."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agentplane.contracts.device import (
    DeviceKeyRotation,
    PublishRelease,
    Release,
    RotateDeviceKey,
)
from agentplane.contracts.http.operator import ReleaseBody
from agentplane.contracts.subjects import Registry
from agentplane.gateway.auth import Bus, Workspace
from agentplane.gateway.formats import iso_ms
from agentplane.gateway.path_ids import agent_uuid

router = APIRouter(tags=["device agents: operator"])


@router.post(
    "/v1/agents/{agent_id}/api-key/rotate",
    status_code=202,
    responses={409: {"description": "Not a device agent, or its credentials are revoked"}},
)
async def rotate_api_key(agent_id: str, ws: Workspace, bus: Bus) -> dict[str, Any]:
    target = agent_uuid(agent_id)
    rotation = DeviceKeyRotation.model_validate(
        await bus.request(
            Registry.DEVICE_KEY_ROTATE,
            RotateDeviceKey(workspace_id=ws.workspace_id, agent_id=target),
        )
    )
    # Accepted, not done: the agent receives its new key with its next heartbeat.
    return {
        "success": True,
        "agentId": str(rotation.agent_id),
        "status": "delivered" if rotation.delivered_at else "pending",
        "requestedAt": iso_ms(rotation.requested_at),
        "deliveredAt": iso_ms(rotation.delivered_at),
    }


@router.post(
    "/v1/agent-releases",
    status_code=201,
    responses={409: {"description": "This version was already published"}},
)
async def publish_release(body: ReleaseBody, ws: Workspace, bus: Bus) -> dict[str, Any]:
    cmd = PublishRelease(
        workspace_id=ws.workspace_id, version=body.version, url=body.url, sha256=body.sha256
    )
    release = Release.model_validate(await bus.request(Registry.RELEASE_PUBLISH, cmd))
    return {
        "version": release.version,
        "url": release.url,
        "sha256": release.sha256,
        "signature": release.signature,
        "signedPayload": release.signed_payload,
        "publishedAt": iso_ms(release.published_at),
    }
