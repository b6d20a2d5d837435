"""The lifecycle service's public integration event: one per state transition of an agent.

Published as an `IntegrationEvent` of type `AGENT_TRANSITIONED` on
`Events.subject("lifecycle", AGENT_TRANSITIONED)`; its `data` is an `AgentTransitioned`.
Consumers (webhooks, audit, outside subscribers) read this model, never the lifecycle
aggregate's attribute names. Fields only grow.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

AGENT_TRANSITIONED = "lifecycle.AgentTransitioned"
# Bookkeeping event that opens an agent's lifecycle (its first transition, CREATED, follows
# in the same commit); consumers need not read it.
AGENT_TRACKED = "lifecycle.AgentTracked"


class TriggeredBy(StrEnum):
    """Who caused a transition (seed 004 lifecycle events)."""

    USER = "user"
    SYSTEM = "system"
    HEARTBEAT = "heartbeat"
    PROVISIONER = "provisioner"


class AgentTransitioned(BaseModel):
    """An agent moved from one lifecycle state to another (or was created: `from_state` None)."""

    model_config = ConfigDict(frozen=True)

    transition_id: str  # stable across redelivery and replay; webhook ids derive from it
    agent_id: UUID
    workspace_id: str  # the public workspace id, "ws_<hex>"
    agent_name: str
    from_state: str | None
    to_state: str
    event_type: str  # CREATED, PROVISIONED, ACTIVATED, DRAINING, TERMINATED, KILLED, …
    triggered_by: TriggeredBy
    reason: str = Field(default="", max_length=1000)
    at: datetime
    # AGENT_UNHEALTHY only: seed 004's error code 480 and the last beat before the miss.
    error_code: int | None = None
    last_heartbeat_at: datetime | None = None
