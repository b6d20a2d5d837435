"""Seed 003 through the SDK: enroll, heartbeat (with key rotation), update check, errors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agentplane.contracts.http.device import HeartbeatBody, SystemMetrics
from agentplane.sdk import (
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    DeviceCredentials,
    NotFound,
    Unauthorized,
)

pytestmark = pytest.mark.system
HOST = {"hostname": "WORKSTATION-01", "os": "windows", "arch": "amd64"}
SHA256 = "3f" * 32


def beat(**changes: Any) -> HeartbeatBody:
    fields: dict[str, Any] = {
        "timestamp": datetime.now(UTC),
        "status": "idle",
        "system": SystemMetrics(hostname="WORKSTATION-01", cpu_percent=15, memory_mb=4096),
        "agent_version": "1.0.0",
        **changes,
    }
    return HeartbeatBody(**fields)


async def enrolled(client: AsyncClient, version: str = "1.0.0") -> DeviceCredentials:
    token = await client.enrollment_tokens.create(kind="enrollment")
    done = await client.device.enroll(token=token.token, agent_version=version, **HOST)
    return DeviceCredentials(agent_id=done.agent_id, api_key=done.api_key)


async def test_enrollment_token_and_enroll(client: AsyncClient) -> None:
    token = await client.enrollment_tokens.create(kind="enrollment", ttl_seconds=600)
    assert token.kind == "enrollment"
    assert 590 <= (token.expires_at - datetime.now(UTC)).total_seconds() <= 610
    done = await client.device.enroll(token=token.token, agent_version="1.0.0", **HOST)
    assert isinstance(done.agent_id, UUID)
    assert done.api_key and len(base64.b64decode(done.public_key)) == 32
    # Single use: the second enrollment with the same token is refused.
    with pytest.raises(Unauthorized) as caught:
        await client.device.enroll(token=token.token, agent_version="1.0.0", **HOST)
    assert caught.value.status == 401 and caught.value.kind == "unauthorized"
    assert caught.value.message


async def test_heartbeat_acknowledged_with_server_time(client: AsyncClient) -> None:
    device = await enrolled(client)
    ack = await client.device.heartbeat(device, beat())
    assert ack.acknowledged is True
    assert abs((ack.server_time - datetime.now(UTC)).total_seconds()) < 30
    assert ack.new_api_key is None


async def test_heartbeat_as_a_mapping_is_validated_by_the_server(client: AsyncClient) -> None:
    device = await enrolled(client)
    body = beat().model_dump(mode="json") | {"status": "sleeping"}
    with pytest.raises(BadRequest) as caught:
        await client.device.heartbeat(device, body)
    # The device dialect's error body: {"success": false, "error": …}.
    assert caught.value.status == 400 and caught.value.kind == "validation"
    assert "status" in caught.value.message


async def test_wrong_key_is_unauthorized(client: AsyncClient) -> None:
    device = await enrolled(client)
    wrong = DeviceCredentials(agent_id=device.agent_id, api_key=device.api_key + "x")
    with pytest.raises(Unauthorized):
        await client.device.heartbeat(wrong, beat())
    with pytest.raises(Unauthorized):
        await client.device.check_update(wrong)
    assert "api_key=***" in repr(device) and device.api_key not in repr(device)


async def test_server_initiated_rotation_reaches_the_next_heartbeat(client: AsyncClient) -> None:
    device = await enrolled(client)
    rotation = await client.agents.rotate_api_key(device.agent_id)
    assert rotation.success and rotation.agent_id == device.agent_id
    assert rotation.status == "pending" and rotation.delivered_at is None
    ack = await client.device.heartbeat(device, beat())
    assert ack.new_api_key and ack.new_api_key != device.api_key
    renewed = DeviceCredentials(agent_id=device.agent_id, api_key=ack.new_api_key)
    assert (await client.device.heartbeat(renewed, beat())).acknowledged
    with pytest.raises(NotFound):
        await client.agents.rotate_api_key("not-an-agent")


async def test_release_and_signed_update(client: AsyncClient) -> None:
    device = await enrolled(client)
    assert await client.device.check_update(device) is None
    url = "https://downloads.example.com/agent/1.2.0/agent.exe"
    release = await client.releases.publish(version="1.2.0", url=url, sha256=SHA256)
    assert release.version == "1.2.0" and release.signature
    update = await client.device.check_update(device)
    assert update is not None
    assert (update.version, update.download_url, update.sha256) == ("1.2.0", url, SHA256)
    token = await client.enrollment_tokens.create()
    public_key = (
        await client.device.enroll(token=token.token, agent_version="1.0.0", **HOST)
    ).public_key
    Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key)).verify(
        base64.b64decode(update.signature), update.signed_payload.encode()
    )
    with pytest.raises(Conflict):
        await client.releases.publish(version="1.2.0", url=url, sha256=SHA256)


def test_sync_client_enrolls_and_heartbeats(sync_client: Client) -> None:
    token = sync_client.enrollment_tokens.create("enrollment")
    done = sync_client.device.enroll(token=token.token, agent_version="1.0.0", **HOST)
    device = DeviceCredentials(agent_id=done.agent_id, api_key=done.api_key)
    assert sync_client.device.heartbeat(device, beat()).acknowledged
    assert sync_client.device.check_update(device) is None
