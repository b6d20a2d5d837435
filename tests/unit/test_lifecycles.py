"""Lifecycle use cases: other services' events drive the machine; transitions go out as the
public AgentTransitioned; drain, provision and the kill timer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentplane.contracts.agent_states import AgentStatesQuery, DrainAgent, ProvisionAgent
from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.events.lifecycle import AgentTransitioned
from agentplane.contracts.events.registry import AgentEnrolled
from agentplane.contracts.lifecycle_events import AGENT_TRANSITIONED
from agentplane.contracts.pap import PapResources
from agentplane.contracts.webhooks import webhook_event_of, workspace_of
from agentplane.eventstore.integration import to_integration
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.lifecycle.inputs import input_of
from agentplane.lifecycle.lifecycles import Lifecycles, LifecycleStore
from agentplane.lifecycle.provisioners.none import NoProvisioner
from agentplane.lifecycle.provisioners.port import Outcome

WS = "ws_" + "ab" * 16
T0 = datetime(2025, 11, 13, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Deployer:
    name = "test"

    def __init__(self) -> None:
        self.removed: list[UUID] = []

    def deploy(
        self,
        agent_id: UUID,
        agent_name: str,
        api_key: str | None = None,
        image: str | None = None,
        resources: PapResources | None = None,
    ) -> Outcome:
        return Outcome(True, f"Agent {agent_name} started")

    def remove(self, agent_id: UUID, agent_name: str) -> Outcome:
        self.removed.append(agent_id)
        return Outcome(True, f"Agent {agent_name} stopped")


def event(n: int, type_: str, agent: UUID, app: str = "registry", **data: Any) -> IntegrationEvent:
    occurred_at = T0 + timedelta(seconds=n)
    if type_ in TIMED:  # the typed events these are always carry their time
        data.setdefault("at", occurred_at.isoformat())
    if type_ == "liveness.WentOffline":
        data.setdefault("last_seen_at", data["at"])
    return IntegrationEvent(
        id=f"{app}:{n}", app=app, position=n, type=type_, aggregate_id=str(agent),
        aggregate_version=n, occurred_at=occurred_at, agent_id=str(agent), data=data,
    )  # fmt: skip


TIMED = {"liveness.CameOnline", "liveness.WentOffline", "agent.Terminated"}


def enrolled(n: int, agent: UUID, dialect: str = "pap") -> IntegrationEvent:
    data = AgentEnrolled(
        workspace_id=WS, dialect=dialect, name="my-agent", label=None, token_prefix="pap_",
        token_expires_at=None, attributes={},
    ).model_dump(mode="json")  # fmt: skip
    return event(n, "agent.Enrolled", agent, **data)


def feed(lifecycles: Lifecycles, *events: IntegrationEvent) -> None:
    for e in events:
        item = input_of(e)
        if item is not None:
            lifecycles.apply(item)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(tmp_path: Path, clock: Clock, provisioner: Any = None) -> Lifecycles:
    return Lifecycles(
        LifecycleStore(allow_memory=True),
        SQLiteViewStore(tmp_path / "views.sqlite"),
        provisioner or NoProvisioner(),
        clock,
    )


def history(lifecycles: Lifecycles, agent: UUID) -> list[tuple[str, str | None, str]]:
    states = lifecycles.states(AgentStatesQuery(agent_ids=[agent], include_events=True))
    return [(e.event_type, e.from_state, e.to_state) for e in states.agents[str(agent)].events]


def test_registry_and_liveness_events_drive_the_machine(tmp_path: Path, clock: Clock) -> None:
    lifecycles = make(tmp_path, clock)
    agent = uuid4()
    online = event(2, "liveness.CameOnline", agent, "heartbeat", at=(T0 + timedelta(2)).isoformat())
    offline = event(
        3, "liveness.WentOffline", agent, "heartbeat",
        at=(T0 + timedelta(seconds=9)).isoformat(), last_seen_at=T0.isoformat(),
    )  # fmt: skip
    back = event(4, "liveness.CameOnline", agent, "heartbeat")
    terminated = event(5, "agent.Terminated", agent, at=(T0 + timedelta(seconds=20)).isoformat())
    feed(lifecycles, enrolled(1, agent), online, offline, back, terminated)
    # Redelivery changes nothing.
    feed(lifecycles, enrolled(1, agent), online, offline, back, terminated)
    assert history(lifecycles, agent) == [
        ("TERMINATED", "ACTIVE", "TERMINATED"),
        ("RECOVERED", "UNHEALTHY", "ACTIVE"),
        ("AGENT_UNHEALTHY", "ACTIVE", "UNHEALTHY"),
        ("ACTIVATED", "NEW", "ACTIVE"),
        ("CREATED", None, "NEW"),
    ]
    state = lifecycles.states(AgentStatesQuery(agent_ids=[agent], include_events=True))
    got = state.agents[str(agent)]
    assert got.state == "TERMINATED"
    assert got.terminated_at == T0 + timedelta(seconds=20)
    unhealthy = got.events[2]
    assert unhealthy.metadata["error_code"] == 480
    assert unhealthy.metadata["triggered_by"] == "system"
    assert unhealthy.metadata["last_heartbeat_at"] == T0.isoformat()


def test_other_dialects_are_not_tracked(tmp_path: Path, clock: Clock) -> None:
    lifecycles = make(tmp_path, clock)
    agent = uuid4()
    feed(lifecycles, enrolled(1, agent, "device"), event(2, "liveness.CameOnline", agent))
    assert lifecycles.states(AgentStatesQuery(agent_ids=[agent])).agents == {}


def test_transitions_are_published_as_agent_transitioned(tmp_path: Path, clock: Clock) -> None:
    lifecycles = make(tmp_path, clock)
    agent = uuid4()
    feed(lifecycles, enrolled(1, agent), event(2, "liveness.CameOnline", agent, "heartbeat"))
    store = lifecycles.store
    published = [
        to_integration("lifecycle", n.id, store.mapper.to_domain_event(n), store.translator)
        for n in store.recorder.select_notifications(1, 10)
    ]
    types = [p.type for p in published]
    assert types == ["lifecycle.AgentTracked", AGENT_TRANSITIONED, AGENT_TRANSITIONED]
    transitions = [AgentTransitioned.model_validate(p.data) for p in published[1:]]
    assert "cause" not in published[1].data  # private
    assert all(p.agent_id == str(agent) for p in published)
    created, activated = transitions
    assert (created.workspace_id, created.agent_name, created.to_state) == (WS, "my-agent", "NEW")
    assert workspace_of(created) == WS
    assert [webhook_event_of(t) for t in transitions] == ["agent.created", "agent.activated"]
    assert activated.triggered_by == "heartbeat"


def test_delete_drains_then_terminates(tmp_path: Path, clock: Clock) -> None:
    deployer = Deployer()
    lifecycles = make(tmp_path, clock, deployer)
    agent = uuid4()
    feed(lifecycles, enrolled(1, agent))
    report = lifecycles.provision(ProvisionAgent(workspace_id=WS, agent_id=agent))
    assert (report.state, report.done) == ("PROVISIONED", True)
    feed(lifecycles, event(2, "liveness.CameOnline", agent, "heartbeat"))
    report = lifecycles.drain(DrainAgent(workspace_id=WS, agent_id=agent))
    assert (report.state, report.done, report.message) == (
        "DRAINING",
        True,
        "Agent my-agent stopped",
    )
    assert deployer.removed == [agent]
    # A heartbeat while draining changes nothing; the registry's termination ends it.
    feed(
        lifecycles,
        event(3, "liveness.WentOffline", agent, "heartbeat", last_seen_at=T0.isoformat()),
    )
    feed(lifecycles, event(4, "agent.Terminated", agent))
    assert [h[0] for h in history(lifecycles, agent)] == [
        "TERMINATED", "DRAINING", "ACTIVATED", "PROVISIONED", "CREATED",
    ]  # fmt: skip
    # Deleting again: no second transition.
    lifecycles.drain(DrainAgent(workspace_id=WS, agent_id=agent))
    assert len(history(lifecycles, agent)) == 5


def test_no_provisioner_says_nothing_was_deployed(tmp_path: Path, clock: Clock) -> None:
    lifecycles = make(tmp_path, clock)
    agent = uuid4()
    feed(lifecycles, enrolled(1, agent))
    report = lifecycles.provision(ProvisionAgent(workspace_id=WS, agent_id=agent))
    assert (report.state, report.done) == ("NEW", False)
    assert "nothing was deployed" in report.message
    report = lifecycles.drain(DrainAgent(workspace_id=WS, agent_id=agent))
    assert (report.state, report.done) == ("DRAINING", False)


def test_other_workspaces_get_not_found(tmp_path: Path, clock: Clock) -> None:
    lifecycles = make(tmp_path, clock)
    agent = uuid4()
    feed(lifecycles, enrolled(1, agent))
    with pytest.raises(Exception, match="not found"):
        lifecycles.drain(DrainAgent(workspace_id="ws_other", agent_id=agent))


def test_the_control_plane_kills_overdue_agents(tmp_path: Path, clock: Clock) -> None:
    lifecycles = make(tmp_path, clock)
    sick, draining, fine = uuid4(), uuid4(), uuid4()
    for n, agent in enumerate((sick, draining, fine)):
        feed(lifecycles, enrolled(10 * n + 1, agent))
        feed(lifecycles, event(10 * n + 2, "liveness.CameOnline", agent, "heartbeat"))
    feed(lifecycles, event(
        3, "liveness.WentOffline", sick, "heartbeat", at=T0.isoformat(),
        last_seen_at=T0.isoformat(),
    ))  # fmt: skip
    clock.now = T0
    lifecycles.drain(DrainAgent(workspace_id=WS, agent_id=draining))
    clock.now = T0 + timedelta(seconds=29)
    assert lifecycles.kill_overdue(drain_timeout=30, kill_after=60) == []
    clock.now = T0 + timedelta(seconds=30)
    assert lifecycles.kill_overdue(drain_timeout=30, kill_after=60) == [draining]
    clock.now = T0 + timedelta(seconds=60)
    assert lifecycles.kill_overdue(drain_timeout=30, kill_after=60) == [sick]
    assert lifecycles.kill_overdue(drain_timeout=30, kill_after=60) == []
    states = lifecycles.states(
        AgentStatesQuery(agent_ids=[sick, draining, fine], include_events=True)
    )
    assert {k: v.state for k, v in states.agents.items()} == {
        str(sick): "KILLED", str(draining): "KILLED", str(fine): "ACTIVE",
    }  # fmt: skip
    killed = states.agents[str(sick)].events[0]
    assert killed.metadata["triggered_by"] == "system"
    assert "unhealthy for more than 60 s" in killed.metadata["reason"]


class Stubborn(Deployer):
    def remove(self, agent_id: UUID, agent_name: str) -> Outcome:
        return Outcome(True, f"Agent {agent_name} did not drain; its process was killed", True)


def test_an_agent_that_does_not_drain_is_killed(tmp_path: Path, clock: Clock) -> None:
    lifecycles = make(tmp_path, clock, Stubborn())
    agent = uuid4()
    feed(lifecycles, enrolled(1, agent), event(2, "liveness.CameOnline", agent, "heartbeat"))
    report = lifecycles.drain(DrainAgent(workspace_id=WS, agent_id=agent))
    assert (report.state, report.done) == ("KILLED", True)
    feed(lifecycles, event(3, "agent.Terminated", agent))  # the registry's record: no change
    assert [h[0] for h in history(lifecycles, agent)] == [
        "KILLED", "DRAINING", "ACTIVATED", "CREATED",
    ]  # fmt: skip


def test_stream_batches_are_applied_once_and_tracked(tmp_path: Path, clock: Clock) -> None:
    lifecycles = make(tmp_path, clock)
    agent = uuid4()
    batch = [
        (enrolled(1, agent).model_dump_json().encode(), 10),
        (event(2, "liveness.CameOnline", agent, "heartbeat").model_dump_json().encode(), 11),
        (event(3, "agent.Registered", agent).model_dump_json().encode(), 12),
    ]
    lifecycles.apply_stream(batch)
    lifecycles.apply_stream(batch)  # redelivered
    assert lifecycles.position() == 12
    assert history(lifecycles, agent) == [
        ("ACTIVATED", "NEW", "ACTIVE"),
        ("CREATED", None, "NEW"),
    ]


def test_states_of_earlier_versions_leave_the_audit_view(tmp_path: Path) -> None:
    from agentplane.lifecycle.application import AuditLogs

    views = SQLiteViewStore(tmp_path / "audit.sqlite")
    with views.transaction() as tx:
        tx.put("pap_state", str(uuid4()), {"state": "NEW"})
    audit = AuditLogs(views)
    assert audit.drop_old_states() == 1
    assert audit.drop_old_states() == 0


def test_unreadable_events_are_skipped_not_fatal() -> None:
    agent = uuid4()
    newer = enrolled(1, agent).model_copy(update={"version": 2})
    broken = event(2, "liveness.WentOffline", agent, "heartbeat", at="not a time")
    assert input_of(newer) is None and input_of(broken) is None
    assert input_of(enrolled(3, agent)) is not None
