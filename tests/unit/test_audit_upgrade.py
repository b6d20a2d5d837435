"""A live audit view written by version 1 (message events made entries) is brought to what
this version builds: once, in bounded chunks, resumable, and never scanned again."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.unit.audit_version_1 import VERSION_1_ROWS, write_as_version_1

from agentplane.contracts.events import IntegrationEvent, PublicEvent, messaging
from agentplane.contracts.events.registry import AgentRegistered
from agentplane.eventstore.projection import version_marker
from agentplane.eventstore.view_sql import SqlTx
from agentplane.eventstore.views import ViewStore, open_view_store
from agentplane.lifecycle.audit_actions import AUDIT_ENTRIES, RETIRED_ACTIONS
from agentplane.lifecycle.audit_upgrade import upgrade_audit_view
from agentplane.lifecycle.projections import AUDIT, AuditProjection
from agentplane.lifecycle.replay import verify
from agentplane.settings import Settings

T = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
AGENTS = ["a1", "a2", "a3"]


def _event(public: PublicEvent, position: int, agent: str, app: str) -> IntegrationEvent:
    return IntegrationEvent(
        id=f"{app}:{position}",
        app=app,
        position=position,
        type=public.TYPE,
        version=public.VERSION,
        aggregate_id=agent,
        aggregate_version=1,
        occurred_at=T + timedelta(seconds=position),
        agent_id=agent,
        data=public.model_dump(mode="json"),
    )


def _history() -> tuple[list[IntegrationEvent], int]:
    """Every agent registered, sent a command named like a retired action (its entry stays),
    and messages in every state; (the events, how many version 1 made message entries of)."""
    events: list[IntegrationEvent] = []
    counter = iter(range(1, 10_000))

    def add(public: PublicEvent, agent: str, app: str = "messaging") -> None:
        events.append(_event(public, next(counter), agent, app))

    messages = 0
    for n, agent in enumerate(AGENTS):
        add(AgentRegistered(workspace_id="w", name=None, label=None, token_prefix="agent_tok_a",
                            token_expires_at=None), agent, "registry")  # fmt: skip
        add(messaging.CommandQueued(workspace_id="w", agent_id=agent, command_id=f"cmd_{n}",
                                    action="read", expires_at=T), agent)  # fmt: skip
        for m in range(3 + 2 * n):  # agents of several chunks' worth, and of less than one
            message_id, at = f"msg_{n}_{m}", T
            add(messaging.MessageSent(workspace_id="w", from_agent_id=AGENTS[n - 1],
                                      to_agent_id=agent, message_id=message_id, channel=None,
                                      type="direct", expires_at=at), agent)  # fmt: skip
            ends = (
                [messaging.MessageDelivered, messaging.MessageRead]
                if m % 3 == 0
                else [messaging.MessageExpired if m % 3 == 1 else messaging.MessageCancelled]
            )
            for end in ends:
                add(end(to_agent_id=agent, message_id=message_id, at=at), agent)
            messages += 1 + len(ends)
    return events, messages


@pytest.fixture
def settings(store_settings: Settings) -> Settings:
    """The live view in SQLite, and in PostgreSQL (the `postgres` cases)."""
    return store_settings


def _written_by_version_1(settings: Settings, events: list[IntegrationEvent]) -> None:
    views = open_view_store(settings, "lifecycle")
    write_as_version_1(views, events)
    views.close()


def _actions(views: ViewStore) -> list[str]:
    with views.read() as tx:
        return sorted(doc["action"] for agent in AGENTS for doc in tx.list(AUDIT, agent))


def _verify(settings: Settings, events: list[IntegrationEvent], scratch: Path) -> int:
    scratch.mkdir()
    return verify(settings, scratch, iter(events)).differences


class Pages:
    """Counts the view pages read (the upgrade's scan); a read after `kill_after` dies."""

    def __init__(self) -> None:
        self.read = 0
        self.kill_after: int | None = None


@pytest.fixture
def pages(monkeypatch: pytest.MonkeyPatch) -> Pages:
    counter = Pages()
    page = SqlTx.page

    def counted(self: SqlTx, *args: Any, **kwargs: Any) -> Any:
        if counter.kill_after is not None and counter.read >= counter.kill_after:
            # The chunk under way is rolled back, as a kill -9 would lose it.
            raise KeyboardInterrupt("killed")
        counter.read += 1
        return page(self, *args, **kwargs)

    monkeypatch.setattr(SqlTx, "page", counted)
    return counter


def test_an_upgraded_view_keeps_only_what_this_version_builds(
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    pages: Pages,
) -> None:
    events, messages = _history()
    _written_by_version_1(settings, events)
    assert _verify(settings, events, tmp_path / "before") == messages  # what it would report

    views = open_view_store(settings, "lifecycle")
    with caplog.at_level(logging.INFO, "agentplane.lifecycle.audit"):
        assert upgrade_audit_view(views, chunk=4) == messages
    assert f"removed {messages} message entries" in caplog.text
    assert _actions(views) == ["command_sent"] * 3 + ["registered"] * 3
    assert views.position(version_marker("audit")) == AuditProjection.version
    assert pages.read > len(AGENTS)  # several chunks
    views.close()
    assert _verify(settings, events, tmp_path / "after") == 0

    # The next start reads the version and nothing else.
    pages.read = 0
    views = open_view_store(settings, "lifecycle")
    assert upgrade_audit_view(views, chunk=4) is None
    assert pages.read == 0
    assert len(_actions(views)) == 6
    views.close()


def test_an_upgrade_killed_midway_finishes_at_the_next_start(
    settings: Settings, pages: Pages
) -> None:
    events, messages = _history()
    _written_by_version_1(settings, events)
    views = open_view_store(settings, "lifecycle")
    pages.kill_after = 4
    with pytest.raises(KeyboardInterrupt):
        upgrade_audit_view(views, chunk=2)
    left = _actions(views)
    # What the committed chunks removed is gone; the rest is still there, unmarked.
    assert 0 < len(left) - 6 < messages
    assert views.position(version_marker("audit")) == 0

    pages.kill_after = None
    assert upgrade_audit_view(views, chunk=2) == len(left) - 6
    assert _actions(views) == ["command_sent"] * 3 + ["registered"] * 3
    assert views.position(version_marker("audit")) == AuditProjection.version
    views.close()


def test_a_new_view_is_marked_at_once(settings: Settings) -> None:
    views = open_view_store(settings, "lifecycle")
    assert upgrade_audit_view(views) == 0
    assert upgrade_audit_view(views) is None
    assert views.position(version_marker("audit")) == AuditProjection.version
    views.close()


def test_retired_actions_are_no_entry_of_this_version() -> None:
    actions = {entry.action for entry in AUDIT_ENTRIES.values() if entry}
    assert not actions & RETIRED_ACTIONS
    assert {entry.action for entry in VERSION_1_ROWS.values()} == RETIRED_ACTIONS
    assert all(AUDIT_ENTRIES[model] is None for model in VERSION_1_ROWS)
