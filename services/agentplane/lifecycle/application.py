"""Lifecycle use cases: the audit log and agent states, built from the integration-event stream."""

from __future__ import annotations

import asyncio
from datetime import datetime

from agentplane.contracts.agent_states import AgentStates, AgentStatesQuery
from agentplane.contracts.audit import AuditEntry, AuditLog, AuditQuery
from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.views import ViewStore
from agentplane.lifecycle.pap_states import PapStateProjection, agent_states
from agentplane.lifecycle.projections import AUDIT, AuditProjection

TRACKING = "stream:AP_EVENTS"


class AuditLogs:
    """Applies stream events to the audit and state views; answers their queries."""

    def __init__(self, views: ViewStore) -> None:
        self.views = views
        self.projection = AuditProjection()
        self.states = PapStateProjection()
        self.applied_seq = views.position(TRACKING)
        self._advanced = asyncio.Condition()

    def apply(self, body: bytes, sequence: int) -> None:
        self.apply_many([(body, sequence)])

    def apply_many(self, items: list[tuple[bytes, int]]) -> None:
        """Stream events, in one transaction with the position (all or none)."""
        events = [(IntegrationEvent.model_validate_json(body), seq) for body, seq in items]
        with self.views.transaction() as tx:
            for event, _ in events:
                self.projection.apply(event, tx)
                self.states.apply(event, tx)
            last = max(seq for _, seq in events)
            if last > tx.position(TRACKING):
                tx.set_position(TRACKING, last)

    async def applied(self, sequence: int) -> None:
        async with self._advanced:
            self.applied_seq = max(self.applied_seq, sequence)
            self._advanced.notify_all()

    async def wait_applied(self, sequence: int, timeout: float) -> None:
        """Wait (bounded) until the view includes the stream up to `sequence`."""
        async with self._advanced:
            try:
                await asyncio.wait_for(
                    self._advanced.wait_for(lambda: self.applied_seq >= sequence), timeout
                )
            except TimeoutError:
                pass

    def query(self, query: AuditQuery) -> AuditLog:
        with self.views.read() as tx:
            docs = tx.list(AUDIT, str(query.agent_id))
        docs.sort(key=lambda d: (datetime.fromisoformat(d["timestamp"]), d["id"]), reverse=True)
        return AuditLog(logs=[AuditEntry.model_validate(d) for d in docs[: query.limit]])

    def agent_states(self, query: AgentStatesQuery) -> AgentStates:
        with self.views.read() as tx:
            return agent_states(tx, query)
