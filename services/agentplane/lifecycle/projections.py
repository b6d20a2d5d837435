"""The audit read model: one entry per agent-scoped integration event, built from the log.

Pure mapping. Heartbeats never reach the event log, so they can never become entries; which
events do, under which action and with which metadata, is `audit_actions.AUDIT_ENTRIES`.
"""

from __future__ import annotations

import logging

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.events.event_types import EVENT_TYPES
from agentplane.eventstore.paging import sort_key
from agentplane.eventstore.views import ViewTx
from agentplane.lifecycle.audit_actions import AUDIT_ENTRIES, Entry

log = logging.getLogger("agentplane.lifecycle.audit")

AUDIT = "audit"


# The event types that make entries: the audit's consumer is sent these and nothing else.
AUDITED_TYPES = frozenset(model.TYPE for model, entry in AUDIT_ENTRIES.items() if entry)


def entry_of(event_type: str) -> Entry | None:
    """The audit entry an event type makes, or None (not agent-scoped, or bookkeeping)."""
    model = EVENT_TYPES.model(event_type)
    return None if model is None else AUDIT_ENTRIES.get(model)


class AuditProjection:
    """Integration event → audit entry keyed by event id (idempotent under redelivery)."""

    name = "audit"
    # 2: message events make no entries (1 made `sent`, `delivered`, …). The view is fed by
    # a stream consumer, not a ProjectionRunner: `audit_upgrade` brings a view built by an
    # earlier version to this one, and records it (`version_marker`).
    version = 2

    def apply(self, event: IntegrationEvent, tx: ViewTx) -> None:
        if event.agent_id is None:
            return
        entry = entry_of(event.type)
        if entry is None:
            return
        try:
            public = EVENT_TYPES.parse(event)
        except ValueError:  # a version this process cannot read: skipped, never blocking
            log.error("audit: %s v%d of %s is unreadable; no entry", event.type,
                      event.version, event.id)  # fmt: skip
            return
        if public is None:
            return
        entry_id = f"log_{event.app}_{event.position}"
        tx.put(
            AUDIT,
            entry_id,
            {
                "id": entry_id,
                "action": entry.action,
                "timestamp": event.occurred_at.isoformat(),
                "metadata": entry.metadata(public),
                "event_id": event.id,
            },
            scope=event.agent_id,
            # Listed newest first: by time, then by entry id.
            sort=sort_key(event.occurred_at),
        )
