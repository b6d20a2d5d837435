"""An audit view as version 1 wrote it: message events made entries, no version recorded."""

from __future__ import annotations

from collections.abc import Iterable

from agentplane.contracts.events import IntegrationEvent, PublicEvent, messaging
from agentplane.eventstore.projection import version_marker
from agentplane.eventstore.views import ViewStore
from agentplane.lifecycle.audit_actions import AUDIT_ENTRIES, Entry
from agentplane.lifecycle.projections import AuditProjection

# Version 1's rows for message events, as it had them.
VERSION_1_ROWS: dict[type[PublicEvent], Entry] = {
    messaging.MessageCancelled: Entry("cancelled", ("to_agent_id", "message_id", "at")),
    messaging.MessageDelivered: Entry("delivered", ("to_agent_id", "message_id", "at")),
    messaging.MessageExpired: Entry("expired", ("to_agent_id", "message_id", "at")),
    messaging.MessageRead: Entry("read", ("to_agent_id", "message_id", "at")),
    messaging.MessageSent: Entry(
        "sent", ("from_agent_id", "to_agent_id", "message_id", "channel", "type", "expires_at")
    ),
}


def write_as_version_1(views: ViewStore, events: Iterable[IntegrationEvent]) -> None:
    """Apply `events` to `views` with version 1's table, and leave no version recorded."""
    today = {model: AUDIT_ENTRIES[model] for model in VERSION_1_ROWS}
    AUDIT_ENTRIES.update(VERSION_1_ROWS)
    try:
        with views.transaction() as tx:
            for event in events:
                AuditProjection().apply(event, tx)
            tx.set_position(version_marker(AuditProjection.name), 0)
    finally:
        AUDIT_ENTRIES.update(today)
