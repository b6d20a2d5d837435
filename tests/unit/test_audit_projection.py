"""The audit projection: agent-scoped events become entries; secrets never do."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.lifecycle.projections import AUDIT, AuditProjection, action_of


def _event(kind: str, position: int, data: dict, agent: str | None = "a1") -> IntegrationEvent:
    return IntegrationEvent(
        id=f"registry:{position}",
        app="registry",
        position=position,
        type=kind,
        aggregate_id=agent or "w",
        aggregate_version=position,
        occurred_at=datetime.now(UTC),
        agent_id=agent,
        data=data,
    )


def test_action_names() -> None:
    assert action_of("agent.TokenRotated") == "token_rotated"
    assert action_of("agent.Provisioned") == "provisioned"
    assert action_of("agent.RegistrationCompleted") == "registered"
    assert action_of("liveness.Tracked") is None


def test_entries_are_idempotent_and_scoped_to_the_agent(tmp_path: Path) -> None:
    store = SQLiteViewStore(tmp_path / "v.sqlite")
    projection = AuditProjection()
    event = _event("agent.Registered", 1, {"token_prefix": "agent_tok_abc", "workspace_id": "w"})
    for _ in range(2):  # redelivery
        with store.transaction() as tx:
            projection.apply(event, tx)
            projection.apply(_event("workspace.Created", 2, {}, agent=None), tx)
    with store.read() as tx:
        entries = tx.list(AUDIT, "a1")
    assert len(entries) == 1
    assert entries[0]["action"] == "registered"
    assert entries[0]["metadata"] == {"tokenPrefix": "agent_tok_abc"}
