"""Replay support for the lifecycle service: its views rebuilt from integration events."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.replay import ReplayResult, rebuild_from_integration
from agentplane.eventstore.views import SQLiteViewStore, ViewTx, open_view_store
from agentplane.lifecycle.pap_states import PapStateProjection
from agentplane.lifecycle.projections import AuditProjection
from agentplane.settings import Settings


def verify(
    settings: Settings, scratch_dir: Path, events: Iterable[IntegrationEvent]
) -> ReplayResult:
    """`events` in occurred_at order (what the live consumer sees, give or take a race that
    the state machine absorbs), through every projection the live consumer applies."""
    audit, states = AuditProjection(), PapStateProjection()

    def apply(event: IntegrationEvent, tx: ViewTx) -> None:
        audit.apply(event, tx)
        states.apply(event, tx)

    live = open_view_store(settings, "lifecycle")
    scratch = SQLiteViewStore(scratch_dir / "lifecycle_views.sqlite")
    try:
        # The view keeps its historical name (audit entries and agent states share it).
        return rebuild_from_integration("lifecycle.audit", apply, events, live, scratch)
    finally:
        live.close()
        scratch.close()
