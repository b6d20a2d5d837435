"""The registry's part of seed 002 and seed 003 heartbeats, in memory (no network): only
changes become events, and a reported reconnect is recorded once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentplane.contracts.agents import EnrollmentKind, IssueEnrollmentToken
from agentplane.contracts.device import DeviceReconnect, EnrollDevice, SyncDeviceHeartbeat
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.orchestrator import (
    OrchestratorConfig,
    RegisterOrchestratorAgent,
    SyncOrchestratorHeartbeat,
)
from agentplane.contracts.workspaces import CreateWorkspace
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.registry.application import Registry, RegistryStore
from agentplane.registry.dialects.device import DeviceAgents
from agentplane.registry.dialects.orchestrator import OrchestratorAgents
from agentplane.registry.domain import Agent, Reconnected
from agentplane.registry.enrollment import Enrollment
from agentplane.registry.workspaces import Workspaces
from agentplane.security.ca import (
    CertificateAuthority,
)
from agentplane.security.certificates import (
    new_private_key,
    public_key_pem,
)
from agentplane.security.jwt_tokens import AgentJwtSigner, jwt_signing_key
from agentplane.security.signing import SigningKey

KEY = b"k" * 32
NOW = datetime(2026, 3, 21, 14, 30, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    store = RegistryStore({"AGGREGATE_CACHE_MAXSIZE": "1000"}, allow_memory=True)
    return Registry(store, SQLiteViewStore(tmp_path / "views.sqlite"), KEY, clock=lambda: NOW)


@pytest.fixture
def workspace_id(registry: Registry) -> str:
    return (
        Workspaces(registry)
        .create_workspace(CreateWorkspace(name=f"ws-{uuid4().hex[:8]}"))[0]
        .workspace_id
    )


def one_time_token(registry: Registry, workspace_id: str, kind: EnrollmentKind) -> str:
    cmd = IssueEnrollmentToken(workspace_id=workspace_id, kind=kind)
    return Enrollment(registry).issue_enrollment_token(cmd)[0].token


def events_of(registry: Registry, agent_id: UUID) -> list[Any]:
    return list(registry.store.repository.event_store.get(agent_id))


# -- seed 002 ----------------------------------------------------------------------------------


@pytest.fixture
def orchestrator(registry: Registry, tmp_path: Path) -> OrchestratorAgents:
    return OrchestratorAgents(
        registry,
        CertificateAuthority.load_or_create(tmp_path),
        AgentJwtSigner(jwt_signing_key(KEY)),
        OrchestratorConfig(heartbeat_interval=30, task_poll_interval=5, log_level="info"),
    )


def orchestrator_agent(orchestrator: OrchestratorAgents, workspace_id: str) -> UUID:
    token = one_time_token(orchestrator.registry, workspace_id, EnrollmentKind.REGISTRATION)
    registered, _ = orchestrator.register(
        RegisterOrchestratorAgent(
            registration_token=token,
            name=f"agent-{uuid4().hex[:8]}",
            version="1.0.0",
            capabilities=["docker", "compose"],
            public_key_pem=public_key_pem(new_private_key()),
        )
    )
    return registered.agent_id


def sync(
    orchestrator: OrchestratorAgents,
    workspace_id: str,
    agent_id: UUID,
    status: str = "healthy",
    capabilities: list[str] | None = None,
) -> tuple[bool, bool, int]:
    synced, position = orchestrator.sync_heartbeat(
        SyncOrchestratorHeartbeat(
            workspace_id=workspace_id,
            agent_id=agent_id,
            status=status,
            capabilities=capabilities,
        )
    )
    return synced.status_changed, synced.capabilities_changed, position


def test_orchestrator_heartbeat_records_changes_only(
    orchestrator: OrchestratorAgents, workspace_id: str
) -> None:
    agent_id = orchestrator_agent(orchestrator, workspace_id)
    registry = orchestrator.registry
    before = len(events_of(registry, agent_id))

    changed, caps, position = sync(orchestrator, workspace_id, agent_id, "healthy")
    assert (changed, caps) == (True, False) and position > 0
    # The same report again, a reordered capability set, no capability report: nothing.
    assert sync(orchestrator, workspace_id, agent_id, "healthy") == (False, False, 0)
    unchanged = sync(orchestrator, workspace_id, agent_id, "healthy", ["compose", "docker"])
    assert unchanged == (False, False, 0)
    assert len(events_of(registry, agent_id)) == before + 1

    changed, caps, _ = sync(orchestrator, workspace_id, agent_id, "unhealthy", ["docker", "ssh"])
    assert (changed, caps) == (True, True)
    agent: Agent = registry.store.repository.get(agent_id)
    assert agent.attributes["reported_status"] == "unhealthy"
    assert [c["name"] for c in agent.capabilities] == ["docker", "ssh"]
    assert len(events_of(registry, agent_id)) == before + 3


def test_orchestrator_heartbeat_of_unknown_or_foreign_agent_is_404(
    orchestrator: OrchestratorAgents, workspace_id: str
) -> None:
    agent_id = orchestrator_agent(orchestrator, workspace_id)
    other_ws = Workspaces(orchestrator.registry).create_workspace(CreateWorkspace(name="other"))[0]
    for ws, agent in ((workspace_id, uuid4()), (other_ws.workspace_id, agent_id)):
        with pytest.raises(ServiceError) as err:
            sync(orchestrator, ws, agent)
        assert err.value.kind is ErrorKind.NOT_FOUND


# -- seed 003 ----------------------------------------------------------------------------------


@pytest.fixture
def device(registry: Registry, tmp_path: Path) -> DeviceAgents:
    return DeviceAgents(
        registry, SigningKey.load_or_create(tmp_path / "keys"), key_grace=timedelta(seconds=60)
    )


def reconnects(registry: Registry, agent_id: UUID) -> list[Reconnected]:
    return [e for e in events_of(registry, agent_id) if isinstance(e, Reconnected)]


def test_device_reconnect_is_recorded_once_per_report(
    device: DeviceAgents, workspace_id: str
) -> None:
    token = one_time_token(device.registry, workspace_id, EnrollmentKind.ENROLLMENT)
    enrolled, _ = device.enroll(
        EnrollDevice(
            token=token,
            hostname="WORKSTATION-01",
            os="windows",
            arch="amd64",
            agent_version="1.0.0",
        )
    )
    agent_id = enrolled.agent_id
    report = DeviceReconnect(
        reason="service_restart",
        process_start_time=NOW - timedelta(seconds=5),
        reported_at=NOW,
    )
    cmd = SyncDeviceHeartbeat(agent_id=agent_id, agent_version="1.0.0", reconnect=report)
    _, position = device.sync_heartbeat(cmd)
    assert position > 0
    # The same heartbeat again (its answer was lost): no second reconnect, nothing saved.
    assert device.sync_heartbeat(cmd)[1] == 0
    later = report.model_copy(
        update={"reason": "network_recovery", "reported_at": NOW + timedelta(minutes=5)}
    )
    device.sync_heartbeat(cmd.model_copy(update={"reconnect": later}))

    recorded = reconnects(device.registry, agent_id)
    assert [(e.reason, e.process_start_time, e.reported_at) for e in recorded] == [
        ("service_restart", NOW - timedelta(seconds=5), NOW),
        ("network_recovery", NOW - timedelta(seconds=5), NOW + timedelta(minutes=5)),
    ]
    # Never a credential in the event.
    assert set(vars(recorded[0])) >= {"reason", "process_start_time", "reported_at"}
    assert not any("key" in name or "hash" in name for name in vars(recorded[0]))
