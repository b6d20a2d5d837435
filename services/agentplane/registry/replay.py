"""Replay support for the registry: its view rebuilt from the log, its public events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.replay import ReplayResult, integration_events, rebuild_local
from agentplane.eventstore.views import SQLiteViewStore, open_view_store
from agentplane.registry.application import RegistryStore
from agentplane.registry.projections import RegistryProjection
from agentplane.settings import Settings


def verify(settings: Settings, scratch_dir: Path) -> ReplayResult:
    store = RegistryStore.from_settings(settings)
    live = open_view_store(settings, "registry")
    scratch = SQLiteViewStore(scratch_dir / "registry_views.sqlite")
    try:
        return rebuild_local("registry", store, RegistryProjection(), live, scratch)
    finally:
        live.close()
        scratch.close()


def published_events(settings: Settings) -> Iterator[IntegrationEvent]:
    """Events the relay has published so far (what subscribers have seen)."""
    store = RegistryStore.from_settings(settings)
    live = open_view_store(settings, "registry")
    stop = live.position("relay:registry")
    live.close()
    return integration_events(store, stop=stop)
