"""Use cases of device agents (seed 003): enrollment, API key checks, server-initiated rotation.

Synchronous like every registry use case; commands return `(result, last_notification_id)`.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from agentplane.contracts.agents import EnrollmentKind
from agentplane.contracts.device import (
    DEVICE_DIALECT,
    DEVICE_KEY_PREFIX,
    AuthenticateDevice,
    DeviceEnrolled,
    DeviceHeartbeatSynced,
    DeviceIdentity,
    DeviceKeyRotation,
    EnrollDevice,
    RotateDeviceKey,
    SyncDeviceHeartbeat,
)
from agentplane.contracts.errors import ServiceError, conflict, not_found, unauthorized, unavailable
from agentplane.registry.application import Registry
from agentplane.registry.domain import Agent
from agentplane.registry.domain.device_key import (
    KeyUse,
    check_key,
    complete_rotation,
    deliver_key,
    request_rotation,
    rotation_of,
)
from agentplane.registry.domain.reconnect import ReportedReconnect, record_reconnect
from agentplane.registry.enrollment import use_enrollment_token
from agentplane.security import is_well_formed, keyed_hash, matches, new_secret, public_prefix
from agentplane.security.signing import SigningKey

DIALECT = DEVICE_DIALECT


def _invalid_credentials() -> ServiceError:
    return unauthorized("Invalid agent credentials")


def _changing() -> ServiceError:
    # A conflicting save means another replica or request changed the agent first, 5 times.
    return unavailable("The agent is changing concurrently, try again")


class DeviceAgents:
    """Device agents of every workspace: one fleet with the agents of the other dialects."""

    def __init__(
        self, registry: Registry, signing_key: SigningKey, *, key_grace: timedelta
    ) -> None:
        self.registry = registry
        self.signing_key = signing_key
        self.key_grace = key_grace

    def _device(self, agent_id: UUID, *, to_change: bool = True) -> Agent | None:
        agent: Agent | None = self.registry.load(agent_id, to_change=to_change)
        if agent is None or agent.dialect != DIALECT:
            return None
        return agent

    # -- enrollment --------------------------------------------------------------------------

    def enroll(self, cmd: EnrollDevice) -> tuple[DeviceEnrolled, int]:
        invalid_token = unauthorized("Invalid or expired enrollment token")

        def create() -> tuple[DeviceEnrolled, list[Any]]:
            agent_id = uuid4()
            try:
                token = use_enrollment_token(
                    self.registry, cmd.token, EnrollmentKind.ENROLLMENT, agent_id
                )
            except ServiceError:
                raise invalid_token from None
            api_key = new_secret(DEVICE_KEY_PREFIX)
            agent = Agent.enroll(
                agent_id,
                token.workspace_id,
                DIALECT,
                cmd.hostname,
                None,
                keyed_hash(api_key, self.registry.key),
                public_prefix(api_key, DEVICE_KEY_PREFIX),
                None,
                attributes={
                    "hostname": cmd.hostname,
                    "os": cmd.os,
                    "arch": cmd.arch,
                    "agent_version": cmd.agent_version,
                },
            )
            workspace_key = self.signing_key.for_workspace(str(token.workspace_id))
            enrolled = DeviceEnrolled(
                agent_id=agent_id, api_key=api_key, public_key=workspace_key.public_key_b64()
            )
            # Token use and agent in one save: of parallel uses of one token exactly one lands.
            return enrolled, [token, agent]

        try:
            # With an Idempotency-Key, a retry (the answer was lost) gets the same identity.
            return self.registry.once(cmd.idempotency, DeviceEnrolled, create)
        except IntegrityError:
            raise invalid_token from None

    # -- authentication ----------------------------------------------------------------------

    def authenticate(self, query: AuthenticateDevice) -> tuple[DeviceIdentity, int]:
        """Check a key; the first use of a rotated key completes the rotation (a write)."""
        if not is_well_formed(query.api_key, DEVICE_KEY_PREFIX):
            raise _invalid_credentials()
        return self.registry.update(lambda: self._authenticate(query), _changing)

    def _authenticate(self, query: AuthenticateDevice) -> tuple[DeviceIdentity, list[Agent]]:
        # Most checks only read; the cached agent is copied only when a rotation completes.
        agent = self._device(query.agent_id, to_change=False)
        now = self.registry.clock()
        if agent is None or not agent.credential_usable(now):
            raise _invalid_credentials()
        use, new_key = check_key(
            agent,
            lambda stored: matches(query.api_key, stored, self.registry.key),
            now,
            self.key_grace,
        )
        if use is KeyUse.REJECTED:
            raise _invalid_credentials()
        if use is KeyUse.NEW:
            assert new_key is not None
            agent = copy.deepcopy(agent)  # the cached one is only read
            complete_rotation(agent, new_key)
        rotation = rotation_of(agent)
        identity = DeviceIdentity(
            agent_id=agent.id,
            workspace_id=agent.workspace_id,
            agent_version=agent.attributes.get("agent_version"),
            rotation_due=rotation is not None and rotation.delivery_due(now, self.key_grace),
            key_expires_at=(
                rotation.first_delivered_at + self.key_grace
                if rotation is not None and rotation.first_delivered_at is not None
                else None
            ),
        )
        return identity, [agent]

    # -- server-initiated key rotation -------------------------------------------------------

    def request_key_rotation(self, cmd: RotateDeviceKey) -> tuple[DeviceKeyRotation, int]:
        return self.registry.update(lambda: self._request_key_rotation(cmd), _changing)

    def _request_key_rotation(self, cmd: RotateDeviceKey) -> tuple[DeviceKeyRotation, list[Agent]]:
        agent: Agent | None = self.registry.load(cmd.agent_id)
        if agent is None or agent.workspace_id != cmd.workspace_id or agent.deleted:
            raise not_found("Agent not found")
        if agent.dialect != DIALECT:
            raise conflict("Only device agents have an API key to rotate")
        if not agent.credential_usable(self.registry.clock()):
            raise conflict("The agent's credentials are revoked")
        request_rotation(agent, self.registry.clock())  # no-op while one is in progress
        rotation = rotation_of(agent)
        assert rotation is not None
        requested = DeviceKeyRotation(
            agent_id=agent.id,
            requested_at=rotation.requested_at,
            delivered_at=rotation.first_delivered_at,
        )
        return requested, [agent]

    def device_heartbeat_rotation(self, agent_id: UUID) -> tuple[str | None, int]:
        """The new API key for this heartbeat's response, or None when none is due.

        Call it only for an authenticated heartbeat. It issues a fresh key while a rotation
        waits for the agent (see `domain.device_key` for why a key is never stored).
        """
        return self.registry.update(lambda: self._heartbeat(agent_id, None), _changing)

    def sync_heartbeat(self, cmd: SyncDeviceHeartbeat) -> tuple[DeviceHeartbeatSynced, int]:
        """The registry's part of a device heartbeat: key delivery, the reported version and a
        reported reconnect."""
        reconnect = (
            ReportedReconnect(
                cmd.reconnect.reason,
                cmd.reconnect.process_start_time,
                cmd.reconnect.reported_at,
            )
            if cmd.reconnect is not None
            else None
        )
        new_key, position = self.registry.update(
            lambda: self._heartbeat(cmd.agent_id, cmd.agent_version, reconnect), _changing
        )
        return DeviceHeartbeatSynced(new_api_key=new_key), position

    def _heartbeat(
        self,
        agent_id: UUID,
        agent_version: str | None,
        reconnect: ReportedReconnect | None = None,
    ) -> tuple[str | None, list[Agent]]:
        agent = self._device(agent_id)
        now = self.registry.clock()
        if agent is None or not agent.credential_usable(now):
            raise _invalid_credentials()
        if reconnect is not None:
            record_reconnect(agent, reconnect)
        if agent_version is not None and agent.attributes.get("agent_version") != agent_version:
            # The version update checks compare against: a state change, recorded once.
            agent.update_attributes({"agent_version": agent_version})
        new_key: str | None = None
        rotation = rotation_of(agent)
        if rotation is not None and rotation.delivery_due(now, self.key_grace):
            new_key = new_secret(DEVICE_KEY_PREFIX)
            deliver_key(
                agent,
                keyed_hash(new_key, self.registry.key),
                public_prefix(new_key, DEVICE_KEY_PREFIX),
                now,
            )
        return new_key, [agent]
