"""Wire models of the lifecycle state machine: agent states and their transition history."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

# States (seed 004 "Lifecycle"); PROVISIONED arrives with a provisioner, DRAINING/KILLED later.
NEW = "NEW"
PROVISIONED = "PROVISIONED"
ACTIVE = "ACTIVE"
UNHEALTHY = "UNHEALTHY"
TERMINATED = "TERMINATED"

# Event types of the history.
CREATED = "CREATED"
ACTIVATED = "ACTIVATED"
AGENT_UNHEALTHY = "AGENT_UNHEALTHY"
RECOVERED = "RECOVERED"
# TERMINATED is both a state and the event that leads to it.

# Seed 004: "Missing one interval triggers AGENT_UNHEALTHY (error code 480)".
UNHEALTHY_ERROR_CODE = 480


class AgentStatesQuery(BaseModel):
    """States of the given agents; with `include_events`, their histories too."""

    model_config = ConfigDict(frozen=True)

    agent_ids: list[UUID] = Field(max_length=100_000)
    include_events: bool = False


class LifecycleEvent(BaseModel):
    """One state transition of an agent (id stable across redelivery and replay)."""

    model_config = ConfigDict(frozen=True)

    id: str
    agent_uuid: UUID
    event_type: str
    from_state: str | None
    to_state: str
    metadata: dict[str, Any]
    timestamp: datetime


class AgentState(BaseModel):
    """An agent's state; `events` newest first, empty unless asked for."""

    model_config = ConfigDict(frozen=True)

    state: str
    activated_at: datetime | None = None
    terminated_at: datetime | None = None
    events: list[LifecycleEvent] = Field(default_factory=list)


class AgentStates(BaseModel):
    """States by agent id (string form); agents without a state machine are absent."""

    model_config = ConfigDict(frozen=True)

    agents: dict[str, AgentState]
