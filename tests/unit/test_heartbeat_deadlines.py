"""The heartbeat service's deadlines: callers say what an agent beats as, the service decides."""

from __future__ import annotations

import pytest

from agentplane.contracts.device import DEVICE_DIALECT
from agentplane.contracts.orchestrator import ORCHESTRATOR_DIALECT
from agentplane.contracts.pap import HEARTBEAT_MODES, PAP_DIALECT
from agentplane.heartbeat.domain.deadlines import PAP_MODE_INTERVALS, Deadlines
from agentplane.heartbeat.main import build_deadlines
from agentplane.settings import Settings

DEADLINES = Deadlines({DEVICE_DIALECT: 20.0, ORCHESTRATOR_DIALECT: 7.0}, 30.0, 3)


@pytest.mark.parametrize(("mode", "deadline"), [("EMERGENCY", 6), ("IDLE", 31), ("SLEEP", 901)])
def test_a_seed_004_mode_allows_its_interval_plus_tolerance(mode: str, deadline: float) -> None:
    assert DEADLINES.of_beat(None, PAP_DIALECT, mode) == deadline


def test_every_mode_the_contract_accepts_has_an_interval() -> None:
    assert set(HEARTBEAT_MODES) == set(PAP_MODE_INTERVALS)


def test_a_dialect_allows_its_interval_times_the_missed_beats() -> None:
    assert DEADLINES.of_beat(None, DEVICE_DIALECT, None) == 60.0
    assert DEADLINES.of_beat(None, ORCHESTRATOR_DIALECT, None) == 21.0
    assert DEADLINES.of_beat(None, "v1", None) == 90.0  # seed 000: the default interval


def test_an_explicit_deadline_wins_and_none_keeps_the_current_one() -> None:
    assert DEADLINES.of_beat(2.5, ORCHESTRATOR_DIALECT, "SLEEP") == 2.5
    assert DEADLINES.of_beat(None, None, None) is None


def test_the_service_takes_its_intervals_from_its_settings() -> None:
    settings = Settings(
        device_heartbeat_interval_seconds=4.0,
        orchestrator_heartbeat_interval_seconds=9,
        heartbeat_interval_seconds=11.0,
        heartbeat_missed_beats=2,
    )
    deadlines = build_deadlines(settings)
    assert deadlines.of_dialect(DEVICE_DIALECT) == 8.0
    assert deadlines.of_dialect(ORCHESTRATOR_DIALECT) == 18.0
    assert deadlines.of_dialect("v1") == 22.0
