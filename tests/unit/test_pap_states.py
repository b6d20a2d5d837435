"""The PAP state machine of the lifecycle service: transitions, idempotence, order (no network)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentplane.contracts.agent_states import AgentStates, AgentStatesQuery
from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.lifecycle.application import AuditLogs
from agentplane.lifecycle.pap_states import PAP_STATE, PapStateProjection, agent_states

T0 = datetime(2025, 11, 13, 8, 0, tzinfo=UTC)


class Log:
    """Integration events of one agent as the registry and heartbeat relays would publish them."""

    def __init__(self, agent_id: UUID | None = None) -> None:
        self.agent_id = str(agent_id or uuid4())
        self.positions = {"registry": itertools.count(1), "heartbeat": itertools.count(1)}
        self.versions = {"registry": itertools.count(1), "heartbeat": itertools.count(1)}

    def _event(self, app: str, kind: str, seconds: float, data: dict[str, Any]) -> IntegrationEvent:
        position = next(self.positions[app])
        return IntegrationEvent(
            id=f"{app}:{position}",
            app=app,
            position=position,
            type=kind,
            aggregate_id=self.agent_id,
            aggregate_version=next(self.versions[app]),
            occurred_at=T0 + timedelta(seconds=seconds),
            workspace_id=data.get("workspace_id"),
            agent_id=self.agent_id,
            data=data,
        )

    def enrolled(self, seconds: float = 0, dialect: str = "pap") -> IntegrationEvent:
        data = {"workspace_id": "ws_1", "dialect": dialect, "name": "my-agent"}
        return self._event("registry", "agent.Enrolled", seconds, data)

    def terminated(self, seconds: float) -> IntegrationEvent:
        at = (T0 + timedelta(seconds=seconds)).isoformat()
        return self._event("registry", "agent.Terminated", seconds, {"at": at})

    def came_online(self, seconds: float) -> IntegrationEvent:
        # The transition happened at the beat; the batch holding it is saved a moment later.
        at = (T0 + timedelta(seconds=seconds)).isoformat()
        return self._event("heartbeat", "liveness.CameOnline", seconds + 0.05, {"at": at})

    def went_offline(self, seconds: float, last_seen: float) -> IntegrationEvent:
        data = {
            "at": (T0 + timedelta(seconds=seconds)).isoformat(),
            "last_seen_at": (T0 + timedelta(seconds=last_seen)).isoformat(),
        }
        return self._event("heartbeat", "liveness.WentOffline", seconds + 0.05, data)

    def tracked(self, seconds: float) -> IntegrationEvent:
        return self._event("heartbeat", "liveness.Tracked", seconds, {})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteViewStore]:
    views = SQLiteViewStore(tmp_path / "lifecycle_views.sqlite")
    yield views
    views.close()


def apply(store: SQLiteViewStore, *events: IntegrationEvent) -> None:
    projection = PapStateProjection()
    for event in events:
        with store.transaction() as tx:
            projection.apply(event, tx)


def states(store: SQLiteViewStore, log: Log) -> AgentStates:
    query = AgentStatesQuery(agent_ids=[UUID(log.agent_id)], include_events=True)
    with store.read() as tx:
        return agent_states(tx, query)


def history(store: SQLiteViewStore, log: Log) -> list[tuple[str, str | None, str]]:
    """Oldest first, for readable assertions."""
    state = states(store, log).agents[log.agent_id]
    return [(e.event_type, e.from_state, e.to_state) for e in reversed(state.events)]


def the_flow(log: Log) -> list[IntegrationEvent]:
    """NEW → ACTIVE → UNHEALTHY → ACTIVE → TERMINATED, then a late offline."""
    return [
        log.enrolled(0),
        log.tracked(10),
        log.came_online(10),
        log.went_offline(26, last_seen=20),
        log.came_online(40),
        log.terminated(50),
        log.went_offline(61, last_seen=55),
    ]


def test_created_is_new(store: SQLiteViewStore) -> None:
    log = Log()
    apply(store, log.enrolled(0))
    state = states(store, log).agents[log.agent_id]
    assert state.state == "NEW" and state.activated_at is None and state.terminated_at is None
    (event,) = state.events
    assert (event.event_type, event.from_state, event.to_state) == ("CREATED", None, "NEW")
    assert event.metadata == {"triggered_by": "user"}
    assert event.timestamp == T0 and event.agent_uuid == UUID(log.agent_id)


def test_first_heartbeat_activates(store: SQLiteViewStore) -> None:
    log = Log()
    apply(store, log.enrolled(0), log.tracked(10), log.came_online(10))
    state = states(store, log).agents[log.agent_id]
    assert state.state == "ACTIVE"
    assert state.activated_at == T0 + timedelta(seconds=10)
    activated = state.events[0]
    assert (activated.event_type, activated.from_state, activated.to_state) == (
        "ACTIVATED",
        "NEW",
        "ACTIVE",
    )
    assert activated.metadata == {"triggered_by": "heartbeat"}
    assert activated.timestamp == T0 + timedelta(seconds=10)


def test_missed_interval_is_unhealthy_with_error_480_and_the_next_beat_recovers(
    store: SQLiteViewStore,
) -> None:
    log = Log()
    apply(store, log.enrolled(0), log.came_online(10), log.went_offline(26, last_seen=20))
    state = states(store, log).agents[log.agent_id]
    assert state.state == "UNHEALTHY"
    unhealthy = state.events[0]
    assert (unhealthy.event_type, unhealthy.from_state, unhealthy.to_state) == (
        "AGENT_UNHEALTHY",
        "ACTIVE",
        "UNHEALTHY",
    )
    assert unhealthy.metadata == {
        "error_code": 480,
        "triggered_by": "system",
        "last_heartbeat_at": (T0 + timedelta(seconds=20)).isoformat(),
    }
    assert unhealthy.timestamp == T0 + timedelta(seconds=26)

    apply(store, log.came_online(40))
    state = states(store, log).agents[log.agent_id]
    assert state.state == "ACTIVE"
    recovered = state.events[0]
    assert (recovered.event_type, recovered.from_state, recovered.to_state) == (
        "RECOVERED",
        "UNHEALTHY",
        "ACTIVE",
    )
    assert recovered.metadata == {"triggered_by": "heartbeat"}
    # activated_at is the first activation.
    assert state.activated_at == T0 + timedelta(seconds=10)


def test_terminated_is_final(store: SQLiteViewStore) -> None:
    log = Log()
    apply(store, *the_flow(log), log.came_online(70))
    assert history(store, log) == [
        ("CREATED", None, "NEW"),
        ("ACTIVATED", "NEW", "ACTIVE"),
        ("AGENT_UNHEALTHY", "ACTIVE", "UNHEALTHY"),
        ("RECOVERED", "UNHEALTHY", "ACTIVE"),
        ("TERMINATED", "ACTIVE", "TERMINATED"),
    ]
    state = states(store, log).agents[log.agent_id]
    assert state.state == "TERMINATED"
    assert state.terminated_at == T0 + timedelta(seconds=50)
    assert state.events[0].metadata == {"triggered_by": "user"}


def test_terminated_before_any_heartbeat(store: SQLiteViewStore) -> None:
    log = Log()
    apply(store, log.enrolled(0), log.terminated(5))
    assert history(store, log) == [("CREATED", None, "NEW"), ("TERMINATED", "NEW", "TERMINATED")]


def test_transitions_that_do_not_apply_change_nothing(store: SQLiteViewStore) -> None:
    log = Log()
    # Offline while NEW (never online), online twice in a row.
    apply(store, log.enrolled(0), log.went_offline(5, last_seen=0))
    apply(store, log.came_online(10), log.came_online(11))
    assert history(store, log) == [("CREATED", None, "NEW"), ("ACTIVATED", "NEW", "ACTIVE")]


def test_other_dialects_and_unknown_agents_have_no_state(store: SQLiteViewStore) -> None:
    device, stranger = Log(), Log()
    apply(store, device.enrolled(0, dialect="device"), device.came_online(5))
    apply(store, stranger.came_online(5), stranger.terminated(9))
    query = AgentStatesQuery(agent_ids=[UUID(device.agent_id), UUID(stranger.agent_id)])
    with store.read() as tx:
        assert agent_states(tx, query).agents == {}
        assert tx.list(PAP_STATE) == []


def test_redelivery_changes_nothing_and_ids_are_stable(store: SQLiteViewStore) -> None:
    log = Log()
    events = the_flow(log)
    apply(store, *events)
    once = store.dump()
    apply(store, *events)  # the whole stream again (a consumer restarted from 0)
    apply(store, events[3], events[2])
    assert store.dump() == once
    ids = [e.id for e in states(store, log).agents[log.agent_id].events]
    assert len(set(ids)) == len(ids) == 5


def test_any_delivery_order_gives_the_replay_result(tmp_path: Path) -> None:
    """Redelivery and racing relays reorder the stream; the view must not depend on it."""
    log = Log()
    events = the_flow(log)
    replayed = SQLiteViewStore(tmp_path / "replay.sqlite")
    apply(replayed, *sorted(events, key=lambda e: (e.occurred_at, e.app, e.position)))
    expected = replayed.dump()
    rng = random.Random(4)
    for attempt in range(20):
        shuffled = events[:]
        rng.shuffle(shuffled)
        # The registry publishes an agent's enrolment before any beat can be accepted.
        shuffled.remove(events[0])
        live = SQLiteViewStore(tmp_path / f"live{attempt}.sqlite")
        apply(live, events[0], *shuffled)
        assert live.dump() == expected, [e.type for e in shuffled]
        live.close()
    replayed.close()


def test_a_late_offline_is_slotted_in_before_the_termination(store: SQLiteViewStore) -> None:
    log = Log()
    enrolled, online = log.enrolled(0), log.came_online(10)
    offline = log.went_offline(26, last_seen=20)
    terminated = log.terminated(27)
    apply(store, enrolled, online, terminated, offline)
    assert history(store, log) == [
        ("CREATED", None, "NEW"),
        ("ACTIVATED", "NEW", "ACTIVE"),
        ("AGENT_UNHEALTHY", "ACTIVE", "UNHEALTHY"),
        ("TERMINATED", "UNHEALTHY", "TERMINATED"),
    ]


def test_audit_and_states_are_applied_in_one_transaction(store: SQLiteViewStore) -> None:
    logs = AuditLogs(store)
    log = Log()
    for sequence, event in enumerate(the_flow(log), start=1):
        logs.apply(event.model_dump_json().encode(), sequence)
    query = AgentStatesQuery(agent_ids=[UUID(log.agent_id)])
    state = logs.agent_states(query).agents[log.agent_id]
    assert state.state == "TERMINATED" and state.events == []  # no history unless asked
    with store.read() as tx:
        assert tx.position("stream:AP_EVENTS") == 7
        assert len(tx.list("audit", log.agent_id)) == 6  # liveness.Tracked is bookkeeping
