"""The recorded history of a service's status: one event per change (audit, webhooks)."""

from __future__ import annotations

import uuid
from uuid import UUID

from eventsourcing.domain import Aggregate

_NAMESPACE = UUID("6a1f0c8e-5a55-4c53-9f3e-8d1c2b7a9e41")


def status_record_id(service_id: str) -> UUID:
    """One record per service, the same id in every replica."""
    return uuid.uuid5(_NAMESPACE, service_id)


class ServiceStatusRecord(Aggregate):
    """Status changes of one catalog service, from `unknown` on."""

    TOPIC = "diagnostics.ServiceStatusRecord"

    class Created(Aggregate.Created):
        # Never recorded (records start as Tracked); eventsourcing asks every class for a topic.
        TOPIC = "service_status.Created"

    class Tracked(Aggregate.Created):
        TOPIC = "service_status.Tracked"
        workspace_id: str
        service_id: str

    class Changed(Aggregate.Event):
        TOPIC = "service_status.Changed"
        workspace_id: str
        service_id: str
        from_status: str
        status: str
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            aggregate.status = self.status  # type: ignore[attr-defined]

    def __init__(self, workspace_id: str, service_id: str) -> None:
        self.workspace_id = workspace_id
        self.service_id = service_id
        self.status = "unknown"

    @classmethod
    def track(cls, workspace_id: str, service_id: str) -> ServiceStatusRecord:
        return cls._create(
            cls.Tracked,
            id=status_record_id(service_id),
            workspace_id=workspace_id,
            service_id=service_id,
        )

    def change(self, status: str, reason: str) -> bool:
        """Record a change; False when the status already is `status` (a repeat)."""
        if status == self.status:
            return False
        self.trigger_event(
            self.Changed,
            workspace_id=self.workspace_id,
            service_id=self.service_id,
            from_status=self.status,
            status=status,
            reason=reason,
        )
        return True
