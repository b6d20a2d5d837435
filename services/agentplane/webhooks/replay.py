"""Replay support for the webhooks service: its view rebuilt from its own log."""

from __future__ import annotations

from pathlib import Path

from agentplane.eventstore.replay import ReplayResult, verify_service_view
from agentplane.settings import WebhooksSettings
from agentplane.webhooks.application import WebhooksStore
from agentplane.webhooks.projections import WebhooksProjection


def verify(settings: WebhooksSettings, scratch_dir: Path) -> ReplayResult:
    return verify_service_view(
        settings, "webhooks", WebhooksStore, WebhooksProjection(), scratch_dir
    )
