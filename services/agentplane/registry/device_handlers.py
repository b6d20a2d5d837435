"""NATS handlers of device agents and releases: message → use case → reply, nothing else."""

from __future__ import annotations

from pydantic import BaseModel

from agentplane.bus.handlers import replying
from agentplane.bus.host import ServiceHost
from agentplane.contracts.device import (
    AuthenticateDevice,
    EnrollDevice,
    FindUpdate,
    PublishRelease,
    RotateDeviceKey,
    SyncDeviceHeartbeat,
)
from agentplane.contracts.subjects import Registry as Subjects
from agentplane.registry.dialects.device import DeviceAgents
from agentplane.registry.dispatch import Dispatch
from agentplane.registry.releases import Releases


def register_device_handlers(
    host: ServiceHost, device: DeviceAgents, releases: Releases, dispatch: Dispatch
) -> None:
    command = dispatch.command

    @replying(EnrollDevice)
    async def enroll_device(cmd: EnrollDevice) -> BaseModel:
        return await command(device.enroll, cmd)

    @replying(AuthenticateDevice)
    async def authenticate_device(q: AuthenticateDevice) -> BaseModel:
        return await command(device.authenticate, q)

    @replying(SyncDeviceHeartbeat)
    async def sync_device_heartbeat(cmd: SyncDeviceHeartbeat) -> BaseModel:
        return await command(device.sync_heartbeat, cmd)

    @replying(RotateDeviceKey)
    async def rotate_device_key(cmd: RotateDeviceKey) -> BaseModel:
        return await command(device.request_key_rotation, cmd)

    @replying(PublishRelease)
    async def publish_release(cmd: PublishRelease) -> BaseModel:
        return await command(releases.publish, cmd)

    @replying(FindUpdate)
    async def find_update(q: FindUpdate) -> BaseModel:
        return await dispatch.query(releases.find_update, q)

    host.handle(Subjects.DEVICE_ENROLL, enroll_device)
    host.handle(Subjects.DEVICE_AUTHENTICATE, authenticate_device)
    host.handle(Subjects.DEVICE_HEARTBEAT_SYNC, sync_device_heartbeat)
    host.handle(Subjects.DEVICE_KEY_ROTATE, rotate_device_key)
    host.handle(Subjects.RELEASE_PUBLISH, publish_release)
    host.handle(Subjects.RELEASE_FIND_UPDATE, find_update)
