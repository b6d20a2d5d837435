"""The lifecycle service's integration events: one per state transition of an agent.

Published on `Events.subject("lifecycle", AGENT_TRANSITIONED)`. Consumers (webhooks, outside
subscribers) read `AgentTransitioned`, never the lifecycle aggregate's attribute names.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from agentplane.contracts.events.public import Instant, PublicEvent
from agentplane.contracts.lifecycle_events import AGENT_TRACKED, AGENT_TRANSITIONED, TriggeredBy


class AgentTracked(PublicEvent):
    """The lifecycle service opened an agent's lifecycle (bookkeeping; CREATED follows)."""

    TYPE: ClassVar[str] = AGENT_TRACKED
    workspace_id: str
    agent_name: str


class AgentTransitioned(PublicEvent):
    """An agent moved from one lifecycle state to another (or was created: `from_state` None)."""

    TYPE: ClassVar[str] = AGENT_TRANSITIONED
    transition_id: str  # stable across redelivery and replay; webhook ids derive from it
    agent_id: UUID
    workspace_id: str  # the public workspace id, "ws_<hex>"
    agent_name: str
    from_state: str | None
    to_state: str
    event_type: str  # CREATED, PROVISIONED, ACTIVATED, DRAINING, TERMINATED, KILLED, …
    triggered_by: TriggeredBy
    reason: str = Field(default="", max_length=1000)
    at: Instant
    # AGENT_UNHEALTHY only: seed 004's error code 480 and the last beat before the miss.
    error_code: int | None = None
    last_heartbeat_at: Instant | None = None
