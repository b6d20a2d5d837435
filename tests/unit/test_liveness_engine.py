"""The liveness engine: transitions saved in batches, none lost when a save fails."""

from __future__ import annotations

import uuid
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
