"""Replay support for the messaging service: its view rebuilt from the log, its public events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.replay import (
    ReplayResult,
    published_service_events,
    verify_service_view,
)
from agentplane.messaging.application import MessagingStore
from agentplane.messaging.projections import MessagingProjection
from agentplane.settings import MessagingSettings


def verify(settings: MessagingSettings, scratch_dir: Path) -> ReplayResult:
    return verify_service_view(
        settings, "messaging", MessagingStore, MessagingProjection(), scratch_dir
    )


def published_events(settings: MessagingSettings) -> Iterator[IntegrationEvent]:
    return published_service_events(settings, "messaging", MessagingStore)
