"""Replay support for the lifecycle service: its views rebuilt from integration events."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.replay import ReplayResult, rebuild_from_integration
from agentplane.eventstore.views import SQLiteViewStore, ViewTx, open_view_store
from agentplane.lifecycle.projections import AuditProjection
from agentplane.settings import LifecycleSettings


def verify(
    settings: LifecycleSettings, scratch_dir: Path, events: Iterable[IntegrationEvent]
) -> ReplayResult:
    """`events` in occurred_at order through the audit projection (agent states live in the
    service's own event store, not in a view)."""
    audit = AuditProjection()

    def apply(event: IntegrationEvent, tx: ViewTx) -> None:
        audit.apply(event, tx)

    live = open_view_store(settings, "lifecycle")
    scratch = SQLiteViewStore(scratch_dir / "lifecycle_views.sqlite")
    try:
        return rebuild_from_integration("lifecycle.audit", apply, events, live, scratch)
    finally:
        live.close()
        scratch.close()
