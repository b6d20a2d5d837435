"""The audit log, built from the integration-event stream (lifecycles.py: the state machine)."""

from __future__ import annotations

import asyncio

from agentplane.contracts.audit import AuditEntry, AuditLog, AuditQuery
from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.paging import scan, sort_key
from agentplane.eventstore.views import ViewStore
from agentplane.lifecycle.projections import AUDIT, AuditProjection

TRACKING = "stream:AP_EVENTS"
OLD_PAP_STATE = "pap_state"


class AuditLogs:
    """Applies stream events to the audit view; answers its queries."""

    def __init__(self, views: ViewStore) -> None:
        self.views = views
        self.projection = AuditProjection()
        self.applied_seq = views.position(TRACKING)
        # Bytes of entries one page may carry (main sets half the NATS max_payload).
        self.reply_budget = 256 * 1024
        self._advanced = asyncio.Condition()

    def apply(self, body: bytes, sequence: int) -> None:
        self.apply_batch([(body, sequence)])

    def apply_batch(self, items: list[tuple[bytes, int]]) -> None:
        """Apply stream events in stream order, all in one transaction (idempotent)."""
        events = [(IntegrationEvent.model_validate_json(body), seq) for body, seq in items]
        with self.views.transaction() as tx:
            for event, _ in events:
                self.projection.apply(event, tx)
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

    def drop_old_states(self) -> int:
        """Remove the agent states earlier versions projected into this view (the state
        machine now lives in the service's event store); once, at start."""
        with self.views.transaction() as tx:
            old = tx.items(OLD_PAP_STATE)
            for key, _ in old:
                tx.delete(OLD_PAP_STATE, key)
        return len(old)

    def order_old_entries(self) -> int:
        """Give entries written before entries had an order key theirs (once, at start)."""
        with self.views.transaction() as tx:
            unsorted = tx.unsorted(AUDIT)
            for key, doc in unsorted:
                tx.set_sort(AUDIT, key, sort_key(doc["timestamp"]))
        return len(unsorted)

    def query(self, query: AuditQuery) -> AuditLog:
        """A page of the agent's entries, newest first."""
        with self.views.read() as tx:
            page = scan(
                tx, AUDIT, str(query.agent_id), after=query.after, limit=query.limit,
                max_bytes=self.reply_budget, descending=True,
            )  # fmt: skip
        logs = [AuditEntry.model_validate(d) for d in page.docs]
        return AuditLog(logs=logs, next_after=page.next_after)
