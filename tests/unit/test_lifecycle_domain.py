"""The PAP state machine (lifecycle/domain): every allowed and every refused transition."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from agentplane.contracts.agent_states import (
    ACTIVE,
    DRAINING,
    KILLED,
    NEW,
    PROVISIONED,
    TERMINATED,
    UNHEALTHY,
)
from agentplane.lifecycle.domain import (
    TRANSITIONS,
    AgentLifecycle,
    TransitionRefused,
    event_type_of,
)
from agentplane.lifecycle.domain.transitions import HEARTBEAT, PROVISIONER, SYSTEM, USER

STATES = [NEW, PROVISIONED, ACTIVE, UNHEALTHY, DRAINING, TERMINATED, KILLED]
WHO = [USER, SYSTEM, HEARTBEAT, PROVISIONER]
T0 = datetime(2025, 11, 13, 8, 0, tzinfo=UTC)
# The shortest way from NEW to each state.
PATHS = {
    NEW: [],
    PROVISIONED: [(PROVISIONED, PROVISIONER)],
    ACTIVE: [(ACTIVE, HEARTBEAT)],
    UNHEALTHY: [(ACTIVE, HEARTBEAT), (UNHEALTHY, SYSTEM)],
    DRAINING: [(DRAINING, USER)],
    TERMINATED: [(TERMINATED, USER)],
    KILLED: [(ACTIVE, HEARTBEAT), (UNHEALTHY, SYSTEM), (KILLED, SYSTEM)],
}
ALLOWED = {
    (NEW, PROVISIONED, PROVISIONER): "PROVISIONED",
    (NEW, ACTIVE, HEARTBEAT): "ACTIVATED",
    (PROVISIONED, ACTIVE, HEARTBEAT): "ACTIVATED",
    (ACTIVE, UNHEALTHY, SYSTEM): "AGENT_UNHEALTHY",
    (UNHEALTHY, ACTIVE, HEARTBEAT): "RECOVERED",
    **{
        (s, DRAINING, who): "DRAINING"
        for s in (NEW, PROVISIONED, ACTIVE, UNHEALTHY)
        for who in (USER, SYSTEM)
    },
    **{(DRAINING, TERMINATED, who): "TERMINATED" for who in (USER, SYSTEM, PROVISIONER)},
    **{(s, TERMINATED, USER): "TERMINATED" for s in (NEW, PROVISIONED, ACTIVE, UNHEALTHY)},
    (UNHEALTHY, KILLED, SYSTEM): "KILLED",
    (DRAINING, KILLED, SYSTEM): "KILLED",
}


def agent_in(state: str) -> AgentLifecycle:
    agent = AgentLifecycle.create(uuid4(), "ws_abc", "my-agent", T0, "enrolled")
    for n, (to_state, who) in enumerate(PATHS[state]):
        assert agent.move(to_state, who, "setup", T0, f"setup-{n}")
    assert agent.state == state
    return agent


def test_creation_is_the_first_transition() -> None:
    agent = AgentLifecycle.create(uuid4(), "ws_abc", "my-agent", T0, "enrolled")
    (step,) = agent.history
    assert (step.event_type, step.from_state, step.to_state, step.triggered_by) == (
        "CREATED", None, NEW, USER,
    )  # fmt: skip
    events = agent.collect_events()
    assert [type(e).TOPIC for e in events] == [  # type: ignore[attr-defined]
        "lifecycle.AgentTracked", "lifecycle.AgentTransitioned",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("from_state", "to_state", "who"), list(itertools.product(STATES, STATES, WHO))
)
def test_every_move(from_state: str, to_state: str, who: str) -> None:
    agent = agent_in(from_state)
    expected = ALLOWED.get((from_state, to_state, who))
    if expected is None:
        with pytest.raises(TransitionRefused):
            agent.move(to_state, who, "why", T0, "cause")
        assert agent.state == from_state
        return
    assert agent.move(to_state, who, "why", T0, "cause")
    step = agent.history[-1]
    assert (step.event_type, step.from_state, step.to_state, step.triggered_by, step.reason) == (
        expected, from_state, to_state, who, "why",
    )  # fmt: skip
    assert agent.state == to_state


def test_the_table_is_what_the_tests_enumerate() -> None:
    listed = {(f, t, who) for (f, t), (_, whos) in TRANSITIONS.items() for who in whos if f}
    assert listed == set(ALLOWED)
    assert event_type_of(None, NEW, USER) == "CREATED"


def test_only_the_control_plane_kills() -> None:
    agent = agent_in(UNHEALTHY)
    for who in (USER, HEARTBEAT, PROVISIONER):
        with pytest.raises(TransitionRefused):
            agent.move(KILLED, who, "no", T0, f"kill-{who}")


def test_final_states_refuse_everything() -> None:
    for final in (TERMINATED, KILLED):
        agent = agent_in(final)
        assert agent.final
        for to_state, who in itertools.product(STATES, WHO):
            with pytest.raises(TransitionRefused):
                agent.move(to_state, who, "no", T0, f"{to_state}-{who}")


def test_a_cause_applies_once() -> None:
    agent = agent_in(ACTIVE)
    assert agent.move(UNHEALTHY, SYSTEM, "missed", T0, "liveness:7", error_code=480)
    assert agent.move(ACTIVE, HEARTBEAT, "beat", T0, "liveness:8")
    # Redelivered: the same events change nothing, even where the move would be allowed.
    assert not agent.move(UNHEALTHY, SYSTEM, "missed", T0, "liveness:7")
    assert agent.state == ACTIVE
    assert [s.event_type for s in agent.history] == [
        "CREATED", "ACTIVATED", "AGENT_UNHEALTHY", "RECOVERED",
    ]  # fmt: skip
    assert agent.history[2].error_code == 480


def test_transition_ids_are_stable() -> None:
    agent_id = uuid4()
    one = AgentLifecycle.create(agent_id, "ws_abc", "a", T0, "registry:5")
    two = AgentLifecycle.create(agent_id, "ws_abc", "a", T0, "registry:5")
    assert one.history[0].transition_id == two.history[0].transition_id
