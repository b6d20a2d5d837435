"""Which integration events become audit entries (seed 000 audit log), and their metadata.

One row per event type that can concern an agent (`IntegrationEvent.agent_id`): the entry's
`action` and the public fields its `metadata` carries, in that order, camelCased
(`token_prefix` → `tokenPrefix`). Rules for every entry, documented in docs/audit-log.md:
- a field whose value is None is left out;
- every time is `2026-03-02T10:00:00.000Z` (UTC, milliseconds), like the entry's timestamp;
- `workspace_id` is never metadata (the log is read per workspace anyway).
`None` rows are not entries: bookkeeping or delivery steps, and agent-to-agent message
traffic (docs/audit-log.md, "Messages are not audit entries"). A new agent-scoped event type
needs a row here (tests/contracts checks that every one has).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from agentplane.contracts.audit import audit_time
from agentplane.contracts.events import (
    PublicEvent,
    heartbeat,
    lifecycle,
    messaging,
    registry,
    registry_workspace,
)


@dataclass(frozen=True)
class Entry:
    """An audit entry's action and the public fields its metadata names."""

    action: str
    fields: tuple[str, ...] = ()

    def metadata_keys(self) -> list[str]:
        return [camel(field) for field in self.fields]

    def metadata(self, event: PublicEvent) -> dict[str, Any]:
        values = event.model_dump(mode="json", include=_included(self.fields))
        metadata: dict[str, Any] = {}
        for field in self.fields:
            value = getattr(event, field)
            if value is None:
                continue
            metadata[camel(field)] = (
                audit_time(value) if isinstance(value, datetime) else values[field]
            )
        return metadata


@cache
def _included(fields: tuple[str, ...]) -> frozenset[str]:
    return frozenset(fields)


# Asked for every field of every entry the audit writes; field names are few.
@cache
def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


AUDIT_ENTRIES: dict[type[PublicEvent], Entry | None] = {
    heartbeat.LivenessCameOnline: Entry("came_online", ("at",)),
    heartbeat.LivenessTracked: None,
    heartbeat.LivenessWentOffline: Entry("went_offline", ("at", "last_seen_at")),
    lifecycle.AgentTracked: None,
    lifecycle.AgentTransitioned: None,
    messaging.CommandAcknowledged: None,
    messaging.CommandCancelled: Entry(
        "command_cancelled", ("agent_id", "command_id", "action", "at")
    ),
    messaging.CommandDelivered: None,
    messaging.CommandExpired: Entry("command_expired", ("agent_id", "command_id", "action", "at")),
    messaging.CommandFailed: Entry(
        "command_failed", ("agent_id", "command_id", "action", "error", "at")
    ),
    messaging.CommandQueued: Entry(
        "command_sent", ("agent_id", "command_id", "action", "expires_at")
    ),
    messaging.CommandSucceeded: Entry(
        "command_succeeded", ("agent_id", "command_id", "action", "at")
    ),
    # Agent-to-agent messages are data-plane traffic, not security events (thousands a second
    # would drown an agent's entries); they stay recorded in the messaging event log, on the
    # `ap.events.messaging.message.*` subjects and in the recipient's inbox (`readAt`).
    # Earlier versions made entries of them: RETIRED_ACTIONS.
    messaging.MessageCancelled: None,
    messaging.MessageDelivered: None,
    messaging.MessageExpired: None,
    messaging.MessageRead: None,
    messaging.MessageSent: None,
    messaging.TaskAssigned: None,
    messaging.TaskCancelled: Entry("task_cancelled", ("agent_id", "task_id", "reason", "at")),
    messaging.TaskFailed: Entry("task_failed", ("agent_id", "task_id", "at")),
    messaging.TaskLeaseExpired: None,
    messaging.TaskLogsRecorded: None,
    messaging.TaskProgressReported: None,
    messaging.TaskQueued: Entry(
        "task_created",
        (
            "agent_id",
            "task_id",
            "task_type",
            "priority",
            "timeout_seconds",
            "max_attempts",
            "has_credentials",
        ),
    ),
    messaging.TaskSucceeded: Entry("task_succeeded", ("agent_id", "task_id", "at")),
    messaging.TaskTimedOut: Entry("task_timed_out", ("agent_id", "task_id", "attempts", "at")),
    registry.AgentApiKeyDelivered: Entry("api_key_delivered", ("key_prefix", "at")),
    registry.AgentApiKeyRotationCompleted: Entry("api_key_rotation_completed", ("key_prefix",)),
    registry.AgentApiKeyRotationRequested: Entry("api_key_rotation_requested", ("at",)),
    registry.AgentAttributesUpdated: Entry("attributes_updated", ("changes",)),
    registry.AgentCapabilitiesReplaced: Entry("capabilities_replaced", ("capabilities",)),
    registry.AgentCredentialIssued: Entry(
        "credential_issued", ("kind", "credential_id", "prefix", "expires_at")
    ),
    registry.AgentCredentialRevoked: Entry("credential_revoked", ("credential_id", "reason")),
    registry.AgentCredentialsRevoked: Entry("credentials_revoked", ("reason",)),
    registry.AgentDeleted: Entry("deleted", ()),
    registry.AgentEnrolled: Entry(
        "enrolled", ("dialect", "name", "label", "token_prefix", "token_expires_at", "attributes")
    ),
    registry.AgentProvisioned: Entry(
        "provisioned", ("client_type", "name", "label", "token_prefix", "token_expires_at")
    ),
    registry.AgentReconnected: Entry(
        "reconnected", ("reason", "process_start_time", "reported_at")
    ),
    registry.AgentRegistered: Entry(
        "registered", ("name", "label", "token_prefix", "token_expires_at")
    ),
    registry.AgentRegistrationCompleted: Entry("registered", ("name", "label")),
    registry.AgentTerminated: Entry("terminated", ("at",)),
    registry.AgentTokenRotated: Entry(
        "token_rotated", ("old_token_prefix", "token_prefix", "token_expires_at")
    ),
    registry_workspace.ServiceDeleted: Entry(
        "service_deleted", ("service_id", "agent_id", "tunnel_port")
    ),
    registry_workspace.ServiceRegistered: Entry(
        "service_registered",
        (
            "service_id",
            "agent_id",
            "name",
            "target_host",
            "target_port",
            "protocol",
            "tunnel_port",
            "is_public",
            "is_external",
            "public_subdomain",
        ),
    ),
    registry_workspace.ServiceRenamed: Entry("service_renamed", ("service_id", "agent_id", "name")),
    registry_workspace.ServiceSubdomainChanged: Entry(
        "service_subdomain_changed", ("service_id", "agent_id", "public_subdomain")
    ),
}

# The actions of the entries earlier versions made of message events (`message.Sent` → `sent`,
# `Delivered`, `Read`, `Expired`, `Cancelled`); no other event ever had these names. A live
# view written by those versions has them removed once (lifecycle/audit_upgrade.py).
RETIRED_ACTIONS = frozenset({"sent", "delivered", "read", "expired", "cancelled"})
