"""Rules that moved out of the gateway into the services that own the data: the seed 002
status (registry) and the seed 004 state precedence (lifecycle)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentplane.contracts.agent_states import AgentState, AgentStates, RecordedState
from agentplane.lifecycle.domain.state_precedence import weighed, with_records
from agentplane.registry.domain.orchestrator_status import REPORTED_STATUS, derived_status

T1, T2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("online", "reported", "status"),
    [
        (False, "healthy", "offline"),
        (False, "failing", "offline"),
        (True, None, "online"),
        (True, "Healthy", "online"),
        (True, "failing", "degraded"),
        (True, 3, "online"),  # not a status string: nothing reported
    ],
)
def test_orchestrator_status(online: bool, reported: object, status: str) -> None:
    attributes = {} if reported is None else {REPORTED_STATUS: reported}
    assert derived_status(online, attributes) == status


RECORD = RecordedState(
    state="NEW", terminated_at=None, kubernetes_namespace="agents", kubernetes_deployment="a-1"
)


def test_the_record_answers_for_an_agent_the_machine_has_not_taken_in() -> None:
    state = weighed(None, RECORD)
    assert state is not None
    assert (state.state, state.kubernetes_namespace, state.events) == ("NEW", "agents", [])


def test_the_machine_decides_and_the_provisioners_placement_wins() -> None:
    machine = AgentState(
        state="ACTIVE", activated_at=T1, kubernetes_namespace="prod", kubernetes_deployment=None
    )
    state = weighed(machine, RECORD.model_copy(update={"terminated_at": T2}))
    assert state is not None
    assert (state.state, state.activated_at, state.terminated_at) == ("ACTIVE", T1, T2)
    assert (state.kubernetes_namespace, state.kubernetes_deployment) == ("prod", "a-1")


def test_agents_nobody_knows_stay_absent() -> None:
    assert weighed(None, None) is None
    states = with_records(AgentStates(agents={}), {"x": RECORD})
    assert set(states.agents) == {"x"}
    assert with_records(AgentStates(agents={}), {}).agents == {}
