"""Wire models of device agents (seed 003): enrollment, key auth and rotation, signed releases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.idempotency import Idempotency
from agentplane.contracts.semver import SEMVER_PATTERN

# The `dialect` of seed 003 device agents in the registry.
DEVICE_DIALECT = "device"
DEVICE_KEY_PREFIX = "ap_dev_"
# Seed 003: a request whose X-Request-Timestamp is further than this from server time is 401.
MAX_CLOCK_SKEW_SECONDS = 300

SemVer = Annotated[str, Field(pattern=SEMVER_PATTERN, max_length=100)]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]


class EnrollDevice(BaseModel):
    """Enroll a device agent with a one-time enrollment token."""

    model_config = ConfigDict(frozen=True)

    token: str = Field(min_length=1, max_length=512)
    hostname: str = Field(min_length=1, max_length=253)
    os: str = Field(min_length=1, max_length=50)
    arch: str = Field(min_length=1, max_length=50)
    agent_version: SemVer
    idempotency: Idempotency | None = None  # from the Idempotency-Key header


class DeviceEnrolled(BaseModel):
    """The new agent, its API key (shown exactly once) and the release-signing public key."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    api_key: str
    public_key: str


class AuthenticateDevice(BaseModel):
    """Check a device agent's API key (X-Agent-ID + X-Agent-Key)."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    api_key: str = Field(max_length=512)


class DeviceIdentity(BaseModel):
    """An authenticated device agent; `rotation_due` when a new key awaits delivery.

    `key_expires_at` is set when the presented key is an old key in its grace after a
    rotation: it stops working then without any event, so nobody may cache it beyond that.
    """

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    workspace_id: str
    agent_version: str | None = None
    rotation_due: bool = False
    key_expires_at: datetime | None = None


# Why a device agent was offline (seed 003 `reconnect_reason`).
RECONNECT_REASONS = ("service_restart", "network_recovery", "machine_reboot", "update_restart")
ReconnectReason = Literal["service_restart", "network_recovery", "machine_reboot", "update_restart"]


class DeviceReconnect(BaseModel):
    """A reconnect a heartbeat reported: why, when the agent process started, and the
    heartbeat's own timestamp."""

    model_config = ConfigDict(frozen=True)

    reason: ReconnectReason
    process_start_time: datetime | None = None
    reported_at: datetime


class SyncDeviceHeartbeat(BaseModel):
    """The registry's part of a device heartbeat: hand over a rotated key, note a new version,
    record a reported reconnect."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    agent_version: SemVer | None = None
    reconnect: DeviceReconnect | None = None


class DeviceHeartbeatSynced(BaseModel):
    """`new_api_key` only while a server-initiated rotation waits for the agent."""

    model_config = ConfigDict(frozen=True)

    new_api_key: str | None = None


class RotateDeviceKey(BaseModel):
    """Start a server-initiated rotation of a device agent's API key."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID


class DeviceKeyRotation(BaseModel):
    """A rotation in progress: requested, and whether the agent has received its new key."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    requested_at: datetime
    delivered_at: datetime | None = None


class PublishRelease(BaseModel):
    """Sign and publish an agent release for a workspace's device agents."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    version: SemVer
    url: str = Field(min_length=1, max_length=2048)
    sha256: Sha256Hex


class Release(BaseModel):
    """A signed release: `signature` is base64 Ed25519 over `signed_payload`, the canonical JSON
    of exactly `{"sha256","url","version"}`."""

    model_config = ConfigDict(frozen=True)

    version: str
    url: str
    sha256: str
    signature: str
    signed_payload: str
    published_at: datetime


class FindUpdate(BaseModel):
    """The newest release of a workspace that is not older than the agent's version."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_version: str | None = None


class UpdateOffer(BaseModel):
    """The release to install, or none (never an older version than the agent runs)."""

    model_config = ConfigDict(frozen=True)

    release: Release | None = None
