"""Replay support for the heartbeat service: its view rebuilt from the log, its public events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.replay import (
    ReplayResult,
    published_service_events,
    verify_service_view,
)
from agentplane.heartbeat.application import HeartbeatStore
from agentplane.heartbeat.projections import LivenessProjection
from agentplane.settings import HeartbeatSettings


def verify(settings: HeartbeatSettings, scratch_dir: Path) -> ReplayResult:
    return verify_service_view(
        settings, "heartbeat", HeartbeatStore, LivenessProjection(), scratch_dir
    )


def published_events(settings: HeartbeatSettings) -> Iterator[IntegrationEvent]:
    return published_service_events(settings, "heartbeat", HeartbeatStore)
