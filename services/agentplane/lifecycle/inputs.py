"""Which integration events of other services drive the state machine, and into what.

    agent.Enrolled (dialect pap)  → track the agent: NEW        (user)
    liveness.CameOnline           → ACTIVE (ACTIVATED or RECOVERED)  (heartbeat)
    liveness.WentOffline          → UNHEALTHY, error 480       (system)
    agent.Terminated              → TERMINATED                 (user)

Pure: an event in, an `Input` (or None) out. The event id is the transition's cause, which
makes applying an event twice (redelivery, replay) a no-op.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from agentplane.contracts.agent_states import (
    ACTIVE,
    NEW,
    TERMINATED,
    UNHEALTHY,
    UNHEALTHY_ERROR_CODE,
)
from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.events.event_types import EVENT_TYPES
from agentplane.contracts.events.heartbeat import LivenessCameOnline, LivenessWentOffline
from agentplane.contracts.events.registry import AgentEnrolled, AgentTerminated
from agentplane.contracts.pap import PAP_DIALECT
from agentplane.lifecycle.domain.transitions import HEARTBEAT, SYSTEM, USER

log = logging.getLogger("agentplane.lifecycle.inputs")


# The event types `input_of` reads: the machine's consumer is sent these and nothing else.
INPUT_TYPES = frozenset(
    model.TYPE
    for model in (AgentEnrolled, LivenessCameOnline, LivenessWentOffline, AgentTerminated)
)


@dataclass(frozen=True)
class Input:
    """A move the machine is asked to make because of another service's event."""

    agent_id: UUID
    to_state: str
    triggered_by: str
    reason: str
    at: datetime
    cause: str
    workspace_id: str = ""
    agent_name: str = ""
    error_code: int | None = None
    last_heartbeat_at: datetime | None = None


def input_of(event: IntegrationEvent) -> Input | None:
    """The move `event` asks for, or None when it does not concern the machine (or cannot be
    read: an unknown version or shape is logged and skipped, never blocking the stream)."""
    try:
        return _input_of(event)
    except ValueError:
        log.error("lifecycle: %s v%d of %s is unreadable", event.type, event.version, event.id)
        return None


def _input_of(event: IntegrationEvent) -> Input | None:
    agent = event.agent_id or event.aggregate_id
    if (enrolled := EVENT_TYPES.parse_as(event, AgentEnrolled)) is not None:
        if enrolled.dialect != PAP_DIALECT:
            return None
        return Input(
            UUID(agent), NEW, USER, "created by the workspace's user", event.occurred_at,
            event.id, workspace_id=enrolled.workspace_id or event.workspace_id or "",
            agent_name=enrolled.name or "",
        )  # fmt: skip
    if (online := EVENT_TYPES.parse_as(event, LivenessCameOnline)) is not None:
        return Input(UUID(agent), ACTIVE, HEARTBEAT, "heartbeat received", online.at, event.id)
    if (offline := EVENT_TYPES.parse_as(event, LivenessWentOffline)) is not None:
        return Input(
            UUID(agent), UNHEALTHY, SYSTEM, "missed its heartbeat interval", offline.at, event.id,
            error_code=UNHEALTHY_ERROR_CODE, last_heartbeat_at=offline.last_seen_at,
        )  # fmt: skip
    if (terminated := EVENT_TYPES.parse_as(event, AgentTerminated)) is not None:
        return Input(
            UUID(agent), TERMINATED, USER, "deleted by the workspace's user", terminated.at,
            event.id,
        )  # fmt: skip
    return None
