"""One agent's lifecycle as an event-sourced aggregate: every transition is an event.

`Transitioned` is published as it is stored (its topic and fields are the public
`AgentTransitioned` contract); `cause` (the id of what led to it) stays private and makes
every transition idempotent: a cause already applied changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from agentplane.contracts.agent_states import FINAL_STATES, KILLED, NEW, TERMINATED, UNHEALTHY
from agentplane.contracts.lifecycle_events import AGENT_TRACKED, AGENT_TRANSITIONED
from agentplane.lifecycle.domain.transitions import USER, event_type_of


@dataclass(frozen=True)
class Step:
    """One transition as the history keeps it."""

    transition_id: str
    event_type: str
    from_state: str | None
    to_state: str
    triggered_by: str
    reason: str
    at: datetime
    error_code: int | None = None
    last_heartbeat_at: datetime | None = None


def transition_id(agent_id: UUID, cause: str) -> str:
    """Stable across redelivery and replay (webhook ids derive from it)."""
    return str(uuid5(agent_id, cause))


class AgentLifecycle(Aggregate):
    """NEW → PROVISIONED → ACTIVE → DRAINING → TERMINATED / KILLED, UNHEALTHY in between."""

    TOPIC = "lifecycle.AgentLifecycle"

    class Created(Aggregate.Created):
        # Never recorded (lifecycles start as Tracked); eventsourcing needs a topic.
        TOPIC = "lifecycle.Created"

    class Tracked(Aggregate.Created):
        TOPIC = AGENT_TRACKED
        AGENT_SCOPED = True
        workspace_id: str
        agent_name: str

    class Transitioned(Aggregate.Event):
        TOPIC = AGENT_TRANSITIONED
        AGENT_SCOPED = True
        PRIVATE = frozenset({"cause"})
        transition_id: str
        agent_id: UUID
        workspace_id: str
        agent_name: str
        from_state: str | None
        to_state: str
        event_type: str
        triggered_by: str
        reason: str
        at: datetime
        error_code: int | None
        last_heartbeat_at: datetime | None
        cause: str

    def __init__(self, workspace_id: str, agent_name: str) -> None:
        self.workspace_id = workspace_id
        self.agent_name = agent_name
        self.state: str | None = None
        self.history: list[Step] = []
        self.causes: set[str] = set()

    @classmethod
    def create(
        cls,
        agent_id: UUID,
        workspace_id: str,
        agent_name: str,
        at: datetime,
        cause: str,
        reason: str = "created",
    ) -> AgentLifecycle:
        """A new agent: tracked, then CREATED (NEW) by its user."""
        agent = cls._create(
            cls.Tracked, id=agent_id, workspace_id=workspace_id, agent_name=agent_name
        )
        agent.move(NEW, USER, reason, at, cause)
        return agent

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def move(
        self,
        to_state: str,
        triggered_by: str,
        reason: str,
        at: datetime,
        cause: str,
        **details: Any,
    ) -> bool:
        """Move to `to_state`; False when `cause` was applied before (nothing changes).

        Raises TransitionRefused for a move the table does not allow."""
        if cause in self.causes:
            return False
        event_type = event_type_of(self.state, to_state, triggered_by)
        self._transitioned(
            transition_id=transition_id(self.id, cause),
            agent_id=self.id,
            workspace_id=self.workspace_id,
            agent_name=self.agent_name,
            from_state=self.state,
            to_state=to_state,
            event_type=event_type,
            triggered_by=triggered_by,
            reason=reason,
            at=at,
            error_code=details.get("error_code"),
            last_heartbeat_at=details.get("last_heartbeat_at"),
            cause=cause,
        )
        return True

    @event(Transitioned)
    def _transitioned(
        self,
        transition_id: str,
        agent_id: UUID,
        workspace_id: str,
        agent_name: str,
        from_state: str | None,
        to_state: str,
        event_type: str,
        triggered_by: str,
        reason: str,
        at: datetime,
        error_code: int | None,
        last_heartbeat_at: datetime | None,
        cause: str,
    ) -> None:
        step = Step(
            transition_id, event_type, from_state, to_state, triggered_by, reason, at,
            error_code, last_heartbeat_at,
        )  # fmt: skip
        self.history.append(step)
        self.causes.add(cause)
        self.state = to_state

    def first_at(self, to_state: str) -> datetime | None:
        """When the agent first entered `to_state` (None: never)."""
        return next((s.at for s in self.history if s.to_state == to_state), None)

    @property
    def unhealthy_since(self) -> datetime | None:
        return self.history[-1].at if self.state == UNHEALTHY and self.history else None

    @property
    def ended_at(self) -> datetime | None:
        return self.history[-1].at if self.state in (TERMINATED, KILLED) else None
