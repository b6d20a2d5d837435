"""Lifecycle use cases on the service's own event store: the PAP state machine per agent.

Synchronous (eventsourcing); handlers and loops call them in threads. Every save wakes the
outbox relay, which publishes each `Transitioned` as the public `AgentTransitioned`.
A small view (`lifecycle_state`: state and since when, per agent) lets the kill timer find
UNHEALTHY and DRAINING agents without loading every aggregate; it is rewritten from the
aggregate after each save, so it converges whatever the interleaving.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from agentplane.contracts.agent_states import (
    ACTIVE,
    DRAINING,
    KILLED,
    NEW,
    PROVISIONED,
    UNHEALTHY,
    AgentState,
    AgentStates,
    AgentStatesQuery,
    DrainAgent,
    LifecycleEvent,
    ProvisionAgent,
    ProvisionerReport,
)
from agentplane.contracts.errors import not_found, unavailable
from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.updates import load, update_with_retry
from agentplane.eventstore.views import ViewStore
from agentplane.lifecycle.domain import AgentLifecycle, Step, TransitionRefused
from agentplane.lifecycle.domain.transitions import PROVISIONER, SYSTEM, USER
from agentplane.lifecycle.inputs import Input, input_of
from agentplane.lifecycle.provisioners.port import Provisioner
from agentplane.lifecycle.translate import TRANSLATOR

STATE = "lifecycle_state"
TRACKING = "stream:AP_EVENTS"
AGENT_NOT_FOUND = "Agent not found"
NOT_TRACKED = "The lifecycle service has not taken the agent in yet; nothing deployed or removed"
# Each of these happens at most once per agent, so a constant cause makes it idempotent.
PROVISION_CAUSE, DRAIN_CAUSE, KILL_CAUSE = "provision", "drain", "kill"


class LifecycleStore(ServiceApplication):
    """The lifecycle service's event store."""

    name = "lifecycle"
    translator = TRANSLATOR


def event_json(agent_id: UUID, step: Step) -> LifecycleEvent:
    """One history entry in the seed 004 form (`metadata` carries who, why and, for
    AGENT_UNHEALTHY, the error code and the last beat)."""
    metadata: dict[str, Any] = {"triggered_by": step.triggered_by, "reason": step.reason}
    if step.error_code is not None:
        metadata["error_code"] = step.error_code
    if step.last_heartbeat_at is not None:
        metadata["last_heartbeat_at"] = step.last_heartbeat_at.isoformat()
    return LifecycleEvent(
        id=step.transition_id,
        agent_uuid=agent_id,
        event_type=step.event_type,
        from_state=step.from_state,
        to_state=step.to_state,
        metadata=metadata,
        timestamp=step.at,
    )


class Lifecycles:
    """The state machines of every PAP agent."""

    def __init__(
        self,
        store: LifecycleStore,
        views: ViewStore,
        provisioner: Provisioner,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.views = views
        self.provisioner = provisioner
        self.clock = clock
        # Called after every save (the relay's wake).
        self.saved_hooks: list[Callable[[], object]] = []

    def _get(self, agent_id: UUID) -> AgentLifecycle | None:
        agent: AgentLifecycle | None = load(self.store, agent_id)
        return agent

    def _save(self, agent: AgentLifecycle) -> int:
        self.store.save(agent)
        with self.views.transaction() as tx:
            since = agent.history[-1].at.isoformat() if agent.history else None
            tx.put(STATE, str(agent.id), {"state": agent.state, "since": since})
        for hook in self.saved_hooks:
            hook()
        return 0  # nobody waits for a position here

    def _moved(self, agent_id: UUID, change: Callable[[AgentLifecycle | None], Any]) -> bool:
        """Apply `change` to the current aggregate and save; look again on a concurrent save.

        `change` returns the aggregate to save, or None when nothing changes."""

        def attempt() -> tuple[bool, list[AgentLifecycle]]:
            agent = change(self._get(agent_id))
            return (False, []) if agent is None else (True, [agent])

        moved, _ = update_with_retry(
            attempt, self._save, lambda: unavailable("Agent is changing concurrently, try again")
        )
        return moved

    # -- inputs from other services -------------------------------------------------------

    def position(self) -> int:
        """The last stream sequence applied (0: none)."""
        return self.views.position(TRACKING)

    def apply_stream(self, items: list[tuple[bytes, int]]) -> None:
        """Apply stream events (body, sequence) in order; each move is idempotent (its cause
        is the event id), so a redelivered batch changes nothing."""
        for body, _ in items:
            item = input_of(IntegrationEvent.model_validate_json(body))
            if item is not None:
                self.apply(item)
        last = max(sequence for _, sequence in items)
        with self.views.transaction() as tx:
            if last > tx.position(TRACKING):
                tx.set_position(TRACKING, last)

    def apply(self, item: Input) -> bool:
        """Make the move another service's event asks for; False when it changes nothing
        (already applied, not a PAP agent, or a move the machine refuses in this state)."""

        def change(agent: AgentLifecycle | None) -> AgentLifecycle | None:
            if agent is None:
                if item.to_state != NEW:
                    return None  # not a PAP agent
                return AgentLifecycle.create(
                    item.agent_id, item.workspace_id, item.agent_name, item.at, item.cause,
                    item.reason,
                )  # fmt: skip
            try:
                moved = agent.move(
                    item.to_state, item.triggered_by, item.reason, item.at, item.cause,
                    error_code=item.error_code, last_heartbeat_at=item.last_heartbeat_at,
                )  # fmt: skip
            except TransitionRefused:
                return None
            return agent if moved else None

        return bool(self._moved(item.agent_id, change))

    # -- commands ---------------------------------------------------------------------------

    def _owned(self, workspace_id: str, agent_id: UUID) -> AgentLifecycle | None:
        """The agent's machine (None: not taken in yet); not_found for another workspace's."""
        agent = self._get(agent_id)
        if agent is not None and agent.workspace_id != workspace_id:
            raise not_found(AGENT_NOT_FOUND)
        return agent

    def provision(self, cmd: ProvisionAgent) -> ProvisionerReport:
        """Deploy a NEW agent's resources; PROVISIONED when the provisioner did."""
        agent = self._owned(cmd.workspace_id, cmd.agent_id)
        if agent is None:
            return ProvisionerReport(state=None, done=False, message=NOT_TRACKED)
        if PROVISION_CAUSE in agent.causes:
            message = f"Agent {agent.agent_name} was deployed before; it is {agent.state}"
            return ProvisionerReport(
                state=agent.state,
                done=True,
                message=message,
                **self._placement(agent.id, agent.agent_name),
            )
        if agent.state != NEW:
            message = f"Agent {agent.agent_name} is {agent.state}; nothing was deployed"
            return ProvisionerReport(state=agent.state, done=False, message=message)
        outcome = self.provisioner.deploy(
            agent.id, agent.agent_name, cmd.api_key, image=cmd.image, resources=cmd.resources
        )
        if outcome.done:
            self._try_move(agent.id, PROVISIONED, PROVISIONER, outcome.message, PROVISION_CAUSE)
        state = self._get(agent.id)
        return ProvisionerReport(
            state=state.state if state else None,
            done=outcome.done,
            message=outcome.message,
            **self._placement(agent.id, agent.agent_name),
        )

    def _placement(self, agent_id: UUID, agent_name: str) -> dict[str, str]:
        """The real namespace and Deployment, for a provisioner that deploys to Kubernetes."""
        placement = getattr(self.provisioner, "placement", None)
        if placement is None:
            return {}
        namespace, deployment = placement(agent_id, agent_name)
        return {"kubernetes_namespace": namespace, "kubernetes_deployment": deployment}

    def drain(self, cmd: DrainAgent) -> ProvisionerReport:
        """A user's delete: DRAINING, then the resources go (TERMINATED follows the registry's
        termination); a final agent is left as it is."""
        agent = self._owned(cmd.workspace_id, cmd.agent_id)
        if agent is None:
            return ProvisionerReport(state=None, done=False, message=NOT_TRACKED)
        if not agent.final:
            self._try_move(agent.id, DRAINING, USER, cmd.reason, DRAIN_CAUSE)
        outcome = self.provisioner.remove(agent.id, agent.agent_name)
        if outcome.forced:
            # It did not drain: the control plane killed it (the registry's termination that
            # follows changes nothing any more).
            self._try_move(agent.id, KILLED, SYSTEM, outcome.message, KILL_CAUSE)
        state = self._get(agent.id)
        return ProvisionerReport(
            state=state.state if state else None, done=outcome.done, message=outcome.message
        )

    def _try_move(self, agent_id: UUID, to_state: str, by: str, reason: str, cause: str) -> bool:
        def change(agent: AgentLifecycle | None) -> AgentLifecycle | None:
            if agent is None:
                return None
            try:
                return agent if agent.move(to_state, by, reason, self.clock(), cause) else None
            except TransitionRefused:
                return None

        return bool(self._moved(agent_id, change))

    def kill_overdue(self, drain_timeout: float, kill_after: float) -> list[UUID]:
        """KILL agents DRAINING longer than `drain_timeout` or UNHEALTHY longer than
        `kill_after` seconds (the control plane's decision; their resources are removed)."""
        now = self.clock()
        limits = {
            DRAINING: timedelta(seconds=drain_timeout),
            UNHEALTHY: timedelta(seconds=kill_after),
        }
        with self.views.read() as tx:
            due = [
                UUID(key)
                for key, doc in tx.items(STATE)
                if doc.get("state") in limits
                and doc.get("since")
                and now - datetime.fromisoformat(doc["since"]) >= limits[doc["state"]]
            ]
        killed = []
        for agent_id in due:
            agent = self._get(agent_id)
            if agent is None or agent.state not in limits:
                continue
            reason = (
                f"did not finish draining within {drain_timeout:g} s"
                if agent.state == DRAINING
                else f"unhealthy for more than {kill_after:g} s"
            )
            outcome = self.provisioner.remove(agent.id, agent.agent_name)
            reason = f"{reason}; {outcome.message}"
            if self._try_move(agent_id, KILLED, SYSTEM, reason, KILL_CAUSE):
                killed.append(agent_id)
        return killed

    # -- queries ----------------------------------------------------------------------------

    def states(self, query: AgentStatesQuery) -> AgentStates:
        """The states (and, when asked, histories newest first) of the agents it tracks."""
        agents: dict[str, AgentState] = {}
        for agent_id in query.agent_ids:
            agent = self._get(agent_id)
            if agent is None or agent.state is None:
                continue
            events = (
                [event_json(agent.id, s) for s in reversed(agent.history)]
                if query.include_events
                else []
            )
            # Details (with events) ask the provisioner for the live status; lists do not.
            status = getattr(self.provisioner, "status", None)
            kubernetes_status = (
                status(agent.id, agent.agent_name)
                if status is not None and query.include_events and not agent.final
                else None
            )
            agents[str(agent_id)] = AgentState(
                state=agent.state,
                provisioned_at=agent.first_at(PROVISIONED),
                activated_at=agent.first_at(ACTIVE),
                terminated_at=agent.ended_at,
                events=events,
                kubernetes_status=kubernetes_status,
                **self._placement(agent.id, agent.agent_name),
            )
        return AgentStates(agents=agents)
