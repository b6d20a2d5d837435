"""The diagnostics service's integration events: the public form of what it records."""

from __future__ import annotations

from typing import ClassVar

from agentplane.contracts.events.public import PublicEvent


class ServiceStatusChanged(PublicEvent):
    """A service's diagnosed status changed (online, offline, degraded, …) and why."""

    TYPE: ClassVar[str] = "service_status.Changed"
    workspace_id: str
    service_id: str
    from_status: str
    status: str
    reason: str


class ServiceStatusTracked(PublicEvent):
    """Diagnostics started tracking the status of a service."""

    TYPE: ClassVar[str] = "service_status.Tracked"
    workspace_id: str
    service_id: str
