"""Replay support for diagnostics: its public events (service status changes). Its view is not
rebuilt from the log: check results and sessions are records of their own, not events."""

from __future__ import annotations

from collections.abc import Iterator

from agentplane.contracts.events import IntegrationEvent
from agentplane.diagnostics.domain.status_record import ServiceStatusRecord  # registers topics
from agentplane.diagnostics.store import DiagnosticsStore
from agentplane.eventstore.replay import published_service_events
from agentplane.settings import DiagnosticsSettings

__all__ = ["ServiceStatusRecord", "published_events"]


def published_events(settings: DiagnosticsSettings) -> Iterator[IntegrationEvent]:
    return published_service_events(settings, "diagnostics", DiagnosticsStore)
