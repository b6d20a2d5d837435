"""The audit read model: one entry per agent-scoped integration event, built from the log.

Pure mapping. Heartbeats never reach the event log, so they can never become entries; every
new agent-scoped event type becomes an entry automatically (`agent.TokenRotated` →
`token_rotated`), with its public fields as camelCase metadata.
"""

from __future__ import annotations

import re
from typing import Any

from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.paging import sort_key
from agentplane.eventstore.views import ViewTx

AUDIT = "audit"

# Types whose default action name would read badly.
ACTIONS = {
    "agent.RegistrationCompleted": "registered",
    "liveness.Tracked": None,  # bookkeeping: the first transition follows in the same batch
    # The lifecycle's own transitions: the registry and liveness events that cause them are
    # entries already.
    "lifecycle.AgentTracked": None,
    "lifecycle.AgentTransitioned": None,
    # Remote commands: sent and finished are entries; delivery steps are not.
    "command.Queued": "command_sent",
    "command.Delivered": None,
    "command.Acknowledged": None,
    "command.Succeeded": "command_succeeded",
    "command.Failed": "command_failed",
    "command.Expired": "command_expired",
    "command.Cancelled": "command_cancelled",
    # Tasks: created and ended are entries; hand-outs, progress and log lines are not.
    "task.Queued": "task_created",
    "task.Assigned": None,
    "task.LeaseExpired": None,
    "task.ProgressReported": None,
    "task.LogsRecorded": None,
    "task.Succeeded": "task_succeeded",
    "task.Failed": "task_failed",
    "task.TimedOut": "task_timed_out",
    "task.Cancelled": "task_cancelled",
    # The agent's services (seed 001): named as such, not as the agent's own registration.
    "service.Registered": "service_registered",
    "service.Renamed": "service_renamed",
    "service.SubdomainChanged": "service_subdomain_changed",
    "service.Deleted": "service_deleted",
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def action_of(event_type: str) -> str | None:
    if event_type in ACTIONS:
        return ACTIONS[event_type]
    return _CAMEL.sub("_", event_type.rsplit(".", 1)[-1]).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def metadata_of(event: IntegrationEvent) -> dict[str, Any]:
    return {
        _camel(key): value
        for key, value in event.data.items()
        if key != "workspace_id" and value is not None
    }


class AuditProjection:
    """Integration event → audit entry keyed by event id (idempotent under redelivery)."""

    name = "audit"

    def apply(self, event: IntegrationEvent, tx: ViewTx) -> None:
        if event.agent_id is None:
            return
        action = action_of(event.type)
        if action is None:
            return
        entry_id = f"log_{event.app}_{event.position}"
        tx.put(
            AUDIT,
            entry_id,
            {
                "id": entry_id,
                "action": action,
                "timestamp": event.occurred_at.isoformat(),
                "metadata": metadata_of(event),
                "event_id": event.id,
            },
            scope=event.agent_id,
            # Listed newest first: by time, then by entry id.
            sort=sort_key(event.occurred_at),
        )
