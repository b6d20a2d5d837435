"""Wire models of the lifecycle state machine: agent states and their transition history."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.pap import PapResources

# States (seed 004 "Lifecycle"): NEW → PROVISIONED → ACTIVE → DRAINING → TERMINATED / KILLED,
# UNHEALTHY on a missed interval and back to ACTIVE on the next beat.
NEW = "NEW"
PROVISIONED = "PROVISIONED"
ACTIVE = "ACTIVE"
UNHEALTHY = "UNHEALTHY"
DRAINING = "DRAINING"
TERMINATED = "TERMINATED"
KILLED = "KILLED"
FINAL_STATES = frozenset({TERMINATED, KILLED})

# Event types of the history.
CREATED = "CREATED"
ACTIVATED = "ACTIVATED"
AGENT_UNHEALTHY = "AGENT_UNHEALTHY"
RECOVERED = "RECOVERED"
# PROVISIONED, DRAINING, TERMINATED and KILLED are both states and the events leading to them.

# Seed 004: "Missing one interval triggers AGENT_UNHEALTHY (error code 480)".
UNHEALTHY_ERROR_CODE = 480


class DrainAgent(BaseModel):
    """A user asked to delete the agent: DRAINING (from any live state), then its resources
    are removed and it is TERMINATED; answers a ProvisionerReport of the removal."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    reason: str = Field(default="deleted by user", max_length=1000)


class ProvisionAgent(BaseModel):
    """Deploy a new agent's resources with the configured provisioner (PROVISIONED on success).

    `api_key` is the workspace key the create request came with: the local provisioner hands
    it to the agent process it starts (PAP agents beat with it); it is never stored or logged."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    api_key: str | None = Field(default=None, repr=False)
    # What to run (the create request's `image` and `resources`; the kubernetes provisioner
    # deploys them, the local one records them).
    image: str | None = Field(default=None, max_length=512)
    resources: PapResources | None = None


class ProvisionerReport(BaseModel):
    """What the provisioner really did (`done` False: nothing deployed or removed, `message`
    says why) and the agent's state after it (None: lifecycle does not know the agent)."""

    model_config = ConfigDict(frozen=True)

    state: str | None
    done: bool
    message: str
    # Where the provisioner puts the agent (kubernetes: the real namespace and Deployment).
    kubernetes_namespace: str | None = None
    kubernetes_deployment: str | None = None


class RecordedState(BaseModel):
    """What the registry's record says of an agent (NEW or TERMINATED, its times, where it
    was placed); the lifecycle service weighs it against its own state machine."""

    model_config = ConfigDict(frozen=True)

    state: str
    provisioned_at: datetime | None = None
    activated_at: datetime | None = None
    terminated_at: datetime | None = None
    kubernetes_namespace: str | None = None
    kubernetes_deployment: str | None = None


class AgentStatesQuery(BaseModel):
    """States of the given agents; with `include_events`, their histories too.

    `recorded` (by agent id, string form): the registry's records of the agents; every agent
    that has one gets an answer, its state machine's when it has one, else the record's.
    """

    model_config = ConfigDict(frozen=True)

    agent_ids: list[UUID] = Field(max_length=100_000)
    include_events: bool = False
    recorded: dict[str, RecordedState] = Field(default_factory=dict)


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
    provisioned_at: datetime | None = None
    activated_at: datetime | None = None
    terminated_at: datetime | None = None
    events: list[LifecycleEvent] = Field(default_factory=list)
    # Kubernetes provisioner: the real namespace and Deployment; with `include_events`, the
    # Deployment's status in the seed 004 `kubernetesStatus` form (None: not deployed).
    kubernetes_namespace: str | None = None
    kubernetes_deployment: str | None = None
    kubernetes_status: dict[str, Any] | None = None


class AgentStates(BaseModel):
    """States by agent id (string form); agents without a state machine are absent."""

    model_config = ConfigDict(frozen=True)

    agents: dict[str, AgentState]
