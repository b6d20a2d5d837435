"""Liveness timers: a beat moves a deadline; transitions only on change."""

from __future__ import annotations

from agentplane.heartbeat.domain import LivenessTable, Transition


def test_first_beat_comes_online_and_later_beats_change_nothing() -> None:
    table = LivenessTable(offline_after=90)
    assert table.beat("a", 0) is Transition.CAME_ONLINE
    assert table.beat("a", 30) is None
    assert table.get("a").last_seen == 30  # type: ignore[union-attr]


def test_missing_the_deadline_goes_offline_once() -> None:
    table = LivenessTable(offline_after=90)
    table.beat("a", 0)
    table.beat("b", 50)
    assert table.sweep(89) == []
    assert table.sweep(90) == ["a"]
    assert table.sweep(200) == ["b"]
    assert table.sweep(300) == []


def test_a_beat_before_the_deadline_postpones_it() -> None:
    table = LivenessTable(offline_after=90)
    table.beat("a", 0)
    table.beat("a", 80)
    assert table.sweep(100) == []
    assert table.sweep(170) == ["a"]


def test_coming_back_after_offline_is_a_transition() -> None:
    table = LivenessTable(offline_after=10)
    table.beat("a", 0)
    table.sweep(10)
    assert table.beat("a", 11) is Transition.CAME_ONLINE
    assert table.sweep(20) == []
    assert table.sweep(21) == ["a"]


def test_no_offline_decision_before_not_before() -> None:
    table = LivenessTable(offline_after=10, not_before=100)
    table.restore("a", last_seen=0, online=True, now=50)
    # Its deadline (60) passed long ago, but the engine has not listened long enough.
    assert table.sweep(99) == []
    assert table.sweep(100) == ["a"]


def test_restore_gives_online_agents_a_full_fresh_deadline() -> None:
    table = LivenessTable(offline_after=10)
    table.restore("a", last_seen=0, online=True, now=1000)
    assert table.sweep(1009) == []
    assert table.sweep(1010) == ["a"]
