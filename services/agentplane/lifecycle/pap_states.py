"""The PAP agent state machine (seed 004), projected from registry and liveness events.

    agent.Enrolled (dialect pap)    → NEW        CREATED          triggered_by user
    liveness.CameOnline  NEW/PROV.  → ACTIVE     ACTIVATED        triggered_by heartbeat
    liveness.WentOffline ACTIVE     → UNHEALTHY  AGENT_UNHEALTHY  triggered_by system, error 480
    liveness.CameOnline  UNHEALTHY  → ACTIVE     RECOVERED        triggered_by heartbeat
    agent.Terminated     any        → TERMINATED TERMINATED       triggered_by user

Anything else changes nothing (a TERMINATED agent ignores liveness for good).

One document per PAP agent holds the inputs it has seen and what they produced. The result
is a function of the set of inputs taken in (occurred_at, app, position) order, the order
`agentplane replay` feeds them in: an input that arrives late (redelivery, two relays racing,
lifecycle replicas) is slotted into place and the history is recomputed, so the live view and a
replay agree whatever order the stream delivered. Entry ids derive from the integration event
id: a redelivered event is recognised and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from agentplane.contracts.agent_states import (
    ACTIVATED,
    ACTIVE,
    AGENT_UNHEALTHY,
    CREATED,
    NEW,
    PROVISIONED,
    RECOVERED,
    TERMINATED,
    UNHEALTHY,
    UNHEALTHY_ERROR_CODE,
    AgentState,
    AgentStates,
    AgentStatesQuery,
    LifecycleEvent,
)
from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.pap import PAP_DIALECT
from agentplane.eventstore.views import ViewTx

PAP_STATE = "pap_state"

# Topics of the integration events the machine reads.
ENROLLED = "agent.Enrolled"
AGENT_TERMINATED = "agent.Terminated"
CAME_ONLINE = "liveness.CameOnline"
WENT_OFFLINE = "liveness.WentOffline"

Input = dict[str, Any]


def input_of(event: IntegrationEvent) -> Input | None:
    """What the machine keeps of an event, or None when the event does not concern it."""
    if event.type == ENROLLED:
        if event.data.get("dialect") != PAP_DIALECT:
            return None
        at: Any = event.occurred_at.isoformat()
    elif event.type in (AGENT_TERMINATED, CAME_ONLINE, WENT_OFFLINE):
        at = event.data.get("at") or event.occurred_at.isoformat()
    else:
        return None
    return {
        "id": event.id,
        "app": event.app,
        "position": event.position,
        "occurred_at": event.occurred_at.isoformat(),
        "type": event.type,
        "at": at,
        "last_seen_at": event.data.get("last_seen_at"),
    }


def order_key(item: Input) -> tuple[datetime, str, int]:
    """The replay order: occurred_at, then app and position for a stable tie-break."""
    return datetime.fromisoformat(item["occurred_at"]), item["app"], item["position"]


@dataclass
class Machine:
    """The state of one agent and its history (oldest first)."""

    agent_id: str
    state: str | None = None
    activated_at: str | None = None
    terminated_at: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    def step(self, item: Input) -> None:
        """Apply one input; what the table in the module docstring does not list is a no-op."""
        kind, state = item["type"], self.state
        if kind == ENROLLED:
            if state is None:
                self._move(item, CREATED, NEW, {"triggered_by": "user"})
        elif state is None or state == TERMINATED:
            return
        elif kind == CAME_ONLINE:
            if state in (NEW, PROVISIONED):
                self._move(item, ACTIVATED, ACTIVE, {"triggered_by": "heartbeat"})
                self.activated_at = self.activated_at or item["at"]
            elif state == UNHEALTHY:
                self._move(item, RECOVERED, ACTIVE, {"triggered_by": "heartbeat"})
        elif kind == WENT_OFFLINE:
            if state == ACTIVE:
                metadata = {
                    "error_code": UNHEALTHY_ERROR_CODE,
                    "triggered_by": "system",
                    "last_heartbeat_at": item["last_seen_at"],
                }
                self._move(item, AGENT_UNHEALTHY, UNHEALTHY, metadata)
        elif kind == AGENT_TERMINATED:
            self._move(item, TERMINATED, TERMINATED, {"triggered_by": "user"})
            self.terminated_at = item["at"]

    def _move(self, item: Input, event_type: str, to_state: str, metadata: dict[str, Any]) -> None:
        self.events.append(
            {
                "id": str(uuid5(UUID(self.agent_id), item["id"])),
                "agent_uuid": self.agent_id,
                "event_type": event_type,
                "from_state": self.state,
                "to_state": to_state,
                "metadata": metadata,
                "timestamp": item["at"],
            }
        )
        self.state = to_state


def replay(agent_id: str, inputs: list[Input]) -> Machine:
    """The machine after `inputs` (already in `order_key` order)."""
    machine = Machine(agent_id)
    for item in inputs:
        machine.step(item)
    return machine


class PapStateProjection:
    """Integration event → the agent's state document (idempotent, order-independent)."""

    name = "pap_states"

    def apply(self, event: IntegrationEvent, tx: ViewTx) -> None:
        item = input_of(event)
        if item is None:
            return
        agent_id = event.agent_id or event.aggregate_id
        # Replicas sharing a PostgreSQL view must not interleave read-modify-writes of a doc.
        tx.lock(f"{PAP_STATE}:{agent_id}")
        doc = tx.get(PAP_STATE, agent_id)
        if doc is None:
            if item["type"] != ENROLLED:
                return  # not a PAP agent
            doc = {"agent_id": agent_id, "workspace_id": event.data.get("workspace_id") or ""}
            doc["inputs"] = []
        inputs: list[Input] = doc["inputs"]
        if any(seen["id"] == item["id"] for seen in inputs):
            return  # redelivered
        if not inputs or order_key(inputs[-1]) <= order_key(item):
            inputs.append(item)
            machine = Machine(
                agent_id,
                doc.get("state"),
                doc.get("activated_at"),
                doc.get("terminated_at"),
                doc.get("events", []),
            )
            machine.step(item)
        else:
            inputs.append(item)
            inputs.sort(key=order_key)
            machine = replay(agent_id, inputs)
        doc.update(
            state=machine.state,
            activated_at=machine.activated_at,
            terminated_at=machine.terminated_at,
            events=machine.events,
        )
        tx.put(PAP_STATE, agent_id, doc, scope=doc["workspace_id"])


def agent_states(tx: ViewTx, query: AgentStatesQuery) -> AgentStates:
    """The states (and, when asked, histories newest first) of the agents the machine knows."""
    agents: dict[str, AgentState] = {}
    for agent_uuid in query.agent_ids:
        agent_id = str(agent_uuid)
        doc = tx.get(PAP_STATE, agent_id)
        if doc is None or doc.get("state") is None:
            continue
        events = (
            [LifecycleEvent.model_validate(e) for e in reversed(doc["events"])]
            if query.include_events
            else []
        )
        agents[agent_id] = AgentState(
            state=doc["state"],
            activated_at=doc.get("activated_at"),
            terminated_at=doc.get("terminated_at"),
            events=events,
        )
    return AgentStates(agents=agents)
