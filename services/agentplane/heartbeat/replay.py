"""Replay support for the heartbeat service: its liveness view and its public events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.replay import ReplayResult, integration_events, rebuild_local
from agentplane.eventstore.views import SQLiteViewStore, open_view_store
from agentplane.heartbeat.application import HeartbeatStore
from agentplane.heartbeat.projections import LivenessProjection
from agentplane.settings import Settings


def verify(settings: Settings, scratch_dir: Path) -> ReplayResult:
    store = HeartbeatStore.from_settings(settings)
    live = open_view_store(settings, "heartbeat")
    scratch = SQLiteViewStore(scratch_dir / "heartbeat_views.sqlite")
    try:
        return rebuild_local("heartbeat", store, LivenessProjection(), live, scratch)
    finally:
        live.close()
        scratch.close()


def published_events(settings: Settings) -> Iterator[IntegrationEvent]:
    store = HeartbeatStore.from_settings(settings)
    live = open_view_store(settings, "heartbeat")
    stop = live.position("relay:heartbeat")
    live.close()
    return integration_events(store, stop=stop)
