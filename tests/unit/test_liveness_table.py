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


def test_deadlines_count_from_when_beats_are_heard_not_from_the_restore() -> None:
    t = 1_780_000_000.0  # epoch seconds: the arithmetic must keep sub-second precision
    table = LivenessTable(offline_after=10)
    table.restore("a", last_seen=t - 30, online=True, now=t)
    table.restore("slow", last_seen=t - 30, online=True, now=t, offline_after=60)
    table.beat("b", t + 3)
    # Start-up took 8 s after the restore (stream set-up, registry replay, a busy machine).
    table.listening_since(t + 8, grace=5)
    assert table.sweep(t + 22.9) == []  # 8 + 5 grace + the 10 s interval not over yet
    assert sorted(table.sweep(t + 23)) == ["a", "b"]
    assert table.sweep(t + 72.9) == []
    assert table.sweep(t + 73) == ["slow"]


# -- per-agent intervals, columns and fleet scale ------------------------------------------


def test_each_agent_keeps_its_own_interval() -> None:
    table = LivenessTable(offline_after=90)
    table.beat("emergency", 0, offline_after=5)
    table.beat("default", 0)
    table.beat("sleep", 0, offline_after=900)
    # A later beat that names no interval keeps the agent's current one.
    table.beat("emergency", 1)
    assert table.sweep(5.9) == []
    assert table.sweep(6) == ["emergency"]
    assert table.sweep(90) == ["default"]
    assert table.sweep(899) == []
    assert table.sweep(900) == ["sleep"]
    assert table.get("sleep").offline_after == 900  # type: ignore[union-attr]


def test_a_beat_can_change_the_interval() -> None:
    table = LivenessTable(offline_after=90)
    table.beat("a", 0, offline_after=900)
    table.beat("a", 10, offline_after=5)
    assert table.sweep(15) == ["a"]


def test_restore_keeps_the_remembered_interval() -> None:
    table = LivenessTable(offline_after=90)
    table.restore("a", last_seen=0, online=True, now=100, offline_after=900)
    assert table.sweep(999) == []
    assert table.sweep(1000) == ["a"]


def test_sweep_reports_the_next_deadline() -> None:
    table = LivenessTable(offline_after=10)
    assert table.sweep(0) == []
    assert table.next_deadline == float("inf")
    table.beat("a", 0)
    table.beat("b", 3)
    assert table.sweep(1) == []
    assert table.next_deadline == 10
    assert table.sweep(10) == ["a"]
    assert table.next_deadline == 13
    table.not_before = 50
    assert table.sweep(20) == []
    assert table.next_deadline == 50


def test_get_is_a_snapshot_and_unknown_agents_are_none() -> None:
    table = LivenessTable(offline_after=10)
    assert table.get("nobody") is None
    table.beat("a", 1)
    clock = table.get("a")
    assert clock is not None
    assert (clock.last_seen, clock.deadline, clock.online, clock.offline_after) == (
        1,
        11,
        True,
        10,
    )
    table.sweep(11)
    assert clock.online  # the snapshot does not change
    assert table.get("a").online is False  # type: ignore[union-attr]


def test_take_dirty_lists_agents_beaten_since_the_last_call() -> None:
    table = LivenessTable(offline_after=10)
    table.restore("restored", last_seen=0, online=True, now=0)
    table.beat("a", 1)
    table.beat("b", 2, offline_after=5)
    assert sorted(table.take_dirty()) == [("a", 1, 10), ("b", 2, 5)]
    assert table.take_dirty() == []
    table.beat("a", 3)
    assert table.take_dirty() == [("a", 3, 10)]


def test_many_agents_sweep_in_one_pass() -> None:
    table = LivenessTable(offline_after=30)
    for i in range(20_000):
        table.beat(f"agent-{i}", 0)
    for i in range(0, 20_000, 2):
        table.beat(f"agent-{i}", 20)
    expired = table.sweep(30)
    assert len(expired) == 10_000
    assert all(int(agent.split("-")[1]) % 2 == 1 for agent in expired)
    assert table.count_online() == 10_000
    assert table.sweep(49) == []
    assert len(table.sweep(50)) == 10_000
    assert table.count_online() == 0


def test_a_table_grows_after_a_sweep_released_its_buffers() -> None:
    table = LivenessTable(offline_after=1)
    table.beat("a", 0)
    table.sweep(5)
    # Views of the columns must not outlive the sweep (a resize would fail).
    for i in range(1000):
        table.beat(f"b{i}", 6)
    assert len(table) == 1001


def test_start_up_grace_protects_only_agents_not_heard_since_the_start() -> None:
    """Issue 12: an agent that beats once after a fresh start and stops is offline at its own
    deadline, not after the grace meant for agents remembered from before the start."""
    table = LivenessTable(offline_after=90, not_before=95, started_at=0)
    table.restore("old", last_seen=-10, online=True, now=0, offline_after=5)
    table.beat("new", 10, offline_after=6)  # one EMERGENCY beat (5 s + tolerance), then silence
    assert table.sweep(15.9) == []
    assert table.sweep(16) == ["new"]
    # The remembered agent's deadline (5 s from its restore) passed, but the grace holds.
    assert table.next_deadline == 95
    assert table.sweep(94) == []
    assert table.sweep(95) == ["old"]


def test_a_remembered_agent_that_beats_after_the_start_is_decided_on_its_own_deadline() -> None:
    table = LivenessTable(offline_after=90, not_before=95, started_at=0)
    table.restore("a", last_seen=-10, online=True, now=0, offline_after=5)
    assert table.beat("a", 20, offline_after=6) is None
    assert table.sweep(25) == []
    assert table.sweep(26) == ["a"]


def test_between_full_passes_only_what_a_restart_must_not_miss_is_taken() -> None:
    table = LivenessTable(offline_after=10)
    table.beat("a", 1)
    table.beat("b", 1)
    table.beat("c", 1)
    assert len(table.take_dirty()) == 3
    table.beat("a", 2)  # only its last-seen time moved: waits for a full pass
    table.beat("b", 2, offline_after=30)  # a new interval: urgent
    table.beat("d", 2)  # a new agent: urgent
    table.sweep(11.5)  # c went offline: urgent
    assert sorted(agent for agent, *_ in table.take_dirty(everything=False)) == ["b", "c", "d"]
    assert table.take_dirty(everything=False) == []
    assert [agent for agent, *_ in table.take_dirty()] == ["a", "b", "d"]
    assert table.take_dirty() == []
