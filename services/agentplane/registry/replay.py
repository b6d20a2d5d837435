"""Replay support for the registry service: its view rebuilt from the log, its public events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.replay import (
    ReplayResult,
    published_service_events,
    verify_service_view,
)
from agentplane.registry.application import RegistryStore
from agentplane.registry.projections import RegistryProjection
from agentplane.settings import RegistrySettings


def verify(settings: RegistrySettings, scratch_dir: Path) -> ReplayResult:
    return verify_service_view(
        settings, "registry", RegistryStore, RegistryProjection(), scratch_dir
    )


def published_events(settings: RegistrySettings) -> Iterator[IntegrationEvent]:
    return published_service_events(settings, "registry", RegistryStore)
