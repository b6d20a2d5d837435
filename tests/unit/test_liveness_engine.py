"""The liveness engine: transitions saved in batches, none lost when a save fails."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentplane.eventstore.views import SQLiteViewStore
from agentplane.heartbeat.application import HeartbeatStore, LivenessEngine
from agentplane.heartbeat.projections import LIVENESS


def engine(tmp_path: Path, now: list[float]) -> LivenessEngine:
    return LivenessEngine(
        HeartbeatStore(
            {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "hb.db")}
        ),
        SQLiteViewStore(tmp_path / "views.sqlite"),
        SQLiteViewStore(tmp_path / "checkpoint.sqlite"),
        offline_after=10,
        grace=0,
        clock=lambda: now[0],
    )


def test_transitions_of_many_agents_are_saved_in_one_batch(tmp_path: Path) -> None:
    now = [100.0]
    live = engine(tmp_path, now)
    agents = [str(uuid.uuid4()) for _ in range(50)]
    for agent_id in agents:
        live.beat(agent_id, now[0])
        live.beat(agent_id, now[0] + 1)  # no second transition
    assert live.flush_transitions() == 50
    now[0] = 120.0
    assert live.sweep() == 50
    assert live.flush_transitions() == 50
    with live.views.read() as tx:
        states = dict(tx.items(LIVENESS))
    assert {agent_id: states[agent_id]["online"] for agent_id in agents} == dict.fromkeys(
        agents, False
    )


def test_a_failed_save_keeps_the_batch_for_the_next_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [100.0]
    live = engine(tmp_path, now)
    agent_id = str(uuid.uuid4())
    live.beat(agent_id, now[0])
    save = live.store.save

    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(live.store, "save", broken)
    with pytest.raises(OSError):
        live.flush_transitions()
    monkeypatch.setattr(live.store, "save", save)
    assert live.flush_transitions() == 1
    with live.views.read() as tx:
        assert tx.get(LIVENESS, agent_id)["online"] is True  # type: ignore[index]


def test_an_agent_heard_after_a_fresh_start_is_not_held_by_the_start_up_grace(
    tmp_path: Path,
) -> None:
    """Issue 12: one EMERGENCY beat right after start, then silence → offline at its own
    deadline (5 s + tolerance), not after the default interval plus grace (≈ 95 s)."""
    now = [1_780_000_000.0]
    live = LivenessEngine(
        HeartbeatStore(
            {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "hb.db")}
        ),
        SQLiteViewStore(tmp_path / "views.sqlite"),
        SQLiteViewStore(tmp_path / "checkpoint.sqlite"),
        offline_after=90,
        grace=5,
        clock=lambda: now[0],
    )
    live.restore()
    live.listening()
    agent_id = str(uuid.uuid4())
    now[0] += 2
    live.beat(agent_id, now[0], offline_after=6.0)
    now[0] += 5.9
    assert live.sweep() == 0
    now[0] += 0.1
    assert live.sweep() == 1


def history(live: LivenessEngine, agent_id: str) -> list[tuple[int, str]]:
    return [
        (e.originator_version, type(e).__name__) for e in live.store.events.get(uuid.UUID(agent_id))
    ]


def test_transitions_are_recorded_without_reading_aggregates_and_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next event's version comes from memory (from the view after a restart), so a
    sweep's transitions never read the log; the log is the same as the aggregate would
    write."""
    now = [100.0]
    live = engine(tmp_path, now)
    agent_id = str(uuid.uuid4())
    live.beat(agent_id, now[0])
    assert live.flush_transitions() == 1

    def no_reads(*_: object, **__: object) -> None:
        raise AssertionError("read the aggregate back")

    monkeypatch.setattr(live.store.repository, "get", no_reads)
    now[0] = 120.0
    assert live.sweep() == 1
    live.beat(agent_id, 121.0)
    assert live.flush_transitions() == 2
    assert history(live, agent_id) == [
        (1, "Created"), (2, "CameOnline"), (3, "WentOffline"), (4, "CameOnline"),
    ]  # fmt: skip
    monkeypatch.undo()
    assert live.store.repository.get(uuid.UUID(agent_id)).online is True

    restarted = engine(tmp_path, now)
    restarted.restore()
    monkeypatch.setattr(restarted.store.repository, "get", no_reads)
    now[0] = 200.0
    assert restarted.sweep() == 1
    assert restarted.flush_transitions() == 1
    assert history(restarted, agent_id)[-1] == (5, "WentOffline")


def test_a_version_changed_by_another_writer_is_read_from_the_log(tmp_path: Path) -> None:
    """Another writer (a second replica, say) recorded a transition meanwhile: the conflict
    makes the engine read the agent's version back and save the batch again."""
    now = [100.0]
    live = engine(tmp_path, now)
    agent_id = str(uuid.uuid4())
    live.beat(agent_id, now[0])
    assert live.flush_transitions() == 1
    other = live.store.repository.get(uuid.UUID(agent_id))
    other.went_offline(at=datetime.now(UTC), last_seen_at=datetime.now(UTC))
    live.store.save(other)
    now[0] = 120.0
    assert live.sweep() == 1
    assert live.flush_transitions() == 1
    assert [name for _, name in history(live, agent_id)] == [
        "Created", "CameOnline", "WentOffline", "WentOffline",
    ]  # fmt: skip
