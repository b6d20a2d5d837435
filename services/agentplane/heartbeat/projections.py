"""The heartbeat read model: each agent's last recorded transition."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from agentplane.eventstore.views import ViewTx
from agentplane.heartbeat.domain import Liveness

LIVENESS = "liveness"


class LivenessProjection:
    """Online/offline per agent as the event log says, and the version of its aggregate (the
    service builds the next transition's event from it after a restart)."""

    name = "liveness"

    def apply(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None:
        agent_id = str(event.originator_id)
        if isinstance(event, Liveness.CameOnline):
            tx.put(
                LIVENESS,
                agent_id,
                {
                    "online": True,
                    "since": event.at.isoformat(),
                    "version": event.originator_version,
                },
            )
        elif isinstance(event, Liveness.WentOffline):
            tx.put(
                LIVENESS,
                agent_id,
                {
                    "online": False,
                    "since": event.at.isoformat(),
                    "last_seen_at": event.last_seen_at.isoformat(),
                    "version": event.originator_version,
                },
            )
