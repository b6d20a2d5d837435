"""The audit projection: agent-scoped events become entries with documented metadata; secrets
never do."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agentplane.contracts.events import IntegrationEvent, PublicEvent
from agentplane.contracts.events.heartbeat import LivenessWentOffline
from agentplane.contracts.events.registry import AgentRegistered, AgentTokenRotated
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.lifecycle.projections import AUDIT, AuditProjection, entry_of

T = datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC)


def _event(public: PublicEvent, position: int, agent: str | None = "a1") -> IntegrationEvent:
    return IntegrationEvent(
        id=f"registry:{position}",
        app="registry",
        position=position,
        type=public.TYPE,
        version=public.VERSION,
        aggregate_id=agent or "w",
        aggregate_version=position,
        occurred_at=T,
        agent_id=agent,
        data=public.model_dump(mode="json"),
    )


def _registered(prefix: str = "agent_tok_abc") -> AgentRegistered:
    return AgentRegistered(
        workspace_id="w", name=None, label=None, token_prefix=prefix, token_expires_at=None
    )


def _entries(tmp_path: Path, *events: IntegrationEvent) -> list[dict]:
    store = SQLiteViewStore(tmp_path / "v.sqlite")
    with store.transaction() as tx:
        for event in events:
            AuditProjection().apply(event, tx)
    with store.read() as tx:
        return tx.list(AUDIT, "a1")


def test_action_names() -> None:
    assert entry_of("agent.TokenRotated").action == "token_rotated"
    assert entry_of("agent.Provisioned").action == "provisioned"
    assert entry_of("agent.RegistrationCompleted").action == "registered"
    assert entry_of("liveness.Tracked") is None
    assert entry_of("workspace.Created") is None  # never concerns an agent
    assert entry_of("no.SuchType") is None


def test_entries_are_idempotent_and_scoped_to_the_agent(tmp_path: Path) -> None:
    store = SQLiteViewStore(tmp_path / "v.sqlite")
    projection = AuditProjection()
    event = _event(_registered(), 1)
    for _ in range(2):  # redelivery
        with store.transaction() as tx:
            projection.apply(event, tx)
    with store.read() as tx:
        entries = tx.list(AUDIT, "a1")
    assert len(entries) == 1
    assert entries[0]["action"] == "registered"
    # None fields (name, label, expiry) are left out; workspace_id is never metadata.
    assert entries[0]["metadata"] == {"tokenPrefix": "agent_tok_abc"}


def test_metadata_names_the_documented_fields_with_times_in_one_format(tmp_path: Path) -> None:
    rotated = AgentTokenRotated(old_token_prefix="agent_tok_old", token_prefix="agent_tok_new",
                                token_expires_at=T)  # fmt: skip
    offline = LivenessWentOffline(at=T, last_seen_at=T.replace(microsecond=0))
    entries = _entries(tmp_path, _event(rotated, 1), _event(offline, 2))
    by_action = {e["action"]: e["metadata"] for e in entries}
    assert by_action["token_rotated"] == {
        "oldTokenPrefix": "agent_tok_old",
        "tokenPrefix": "agent_tok_new",
        "tokenExpiresAt": "2026-03-02T10:00:00.123Z",
    }
    assert by_action["went_offline"] == {
        "at": "2026-03-02T10:00:00.123Z",
        "lastSeenAt": "2026-03-02T10:00:00.000Z",
    }


def test_unreadable_events_make_no_entry_and_do_not_block(tmp_path: Path) -> None:
    newer = _event(_registered(), 1).model_copy(update={"version": 99})
    broken = _event(_registered(), 2).model_copy(update={"data": {"name": 5}})
    entries = _entries(tmp_path, newer, broken, _event(_registered("agent_tok_ok"), 3))
    assert [e["metadata"]["tokenPrefix"] for e in entries] == ["agent_tok_ok"]
