"""Registry aggregates and use cases with in-memory persistence (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from agentplane.contracts.agents import (
    AuthenticateAgent,
    ClientType,
    GetAgent,
    ListAgents,
    ProvisionAgent,
    RegisterAgent,
)
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.workspaces import AuthenticateWorkspace, CreateWorkspace, Tier
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.registry.agents import Agents
from agentplane.registry.application import Registry, RegistryStore
from agentplane.registry.credentials import AgentCredentials
from agentplane.registry.domain import Agent, AgentAlreadyRegistered, TokenMismatch
from agentplane.registry.domain.credential import (
    credential_live,
    issue_credential,
    revoke_all_credentials,
    revoke_credential,
)
from agentplane.registry.enrollment import Enrollment
from agentplane.registry.workspaces import Workspaces


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(
        RegistryStore(allow_memory=True), SQLiteViewStore(tmp_path / "views.sqlite"), b"k" * 32
    )


def test_provisioned_agent_completes_registration_once() -> None:
    agent = Agent.provision(uuid4(), "ws_1", "cursor", "n", None, "h", "p", datetime.now(UTC))
    assert not agent.registered
    with pytest.raises(TokenMismatch):
        agent.complete_registration(False, None, None)
    agent.complete_registration(True, "web", "prod")
    assert agent.registered and agent.name == "web" and agent.label == "prod"
    with pytest.raises(AgentAlreadyRegistered):
        agent.complete_registration(True, None, None)


def test_events_have_stable_topics() -> None:
    agent = Agent.register(uuid4(), "ws_1", None, None, "h", "p", None)
    assert [type(e).TOPIC for e in agent.collect_events()] == ["agent.Registered"]


def test_credential_events_keep_their_topics_and_replay_to_the_same_state() -> None:
    # These events stood in the Agent class body once: the store holds their explicit topics,
    # so a store written then reads back through the classes in domain/credential.py.
    store = RegistryStore(allow_memory=True)
    now = datetime.now(UTC)
    agent = Agent.enroll(uuid4(), "ws_1", "orchestrator", "n", None, "h", "p", None, {})
    issue_credential(agent, "jwt", "j1", None, None, now + timedelta(hours=1))
    issue_credential(agent, "certificate", "c1", "secret", "pre", None)
    revoke_credential(agent, "c1", "renewed")
    assert credential_live(agent, "jwt", "j1", now)
    assert not credential_live(agent, "certificate", "c1", now)
    store.save(agent)
    revoke_all_credentials(agent, "agent deleted")
    store.save(agent)
    stored = store.recorder.select_events(agent.id)
    assert [e.topic for e in stored[1:]] == [
        "agent.CredentialIssued",
        "agent.CredentialIssued",
        "agent.CredentialRevoked",
        "agent.CredentialsRevoked",
    ]
    read = store.repository.get(agent.id)
    assert read.credentials == agent.credentials and read.revoked
    assert all(c["revoked"] for c in read.credentials.values())
    assert not credential_live(read, "jwt", "j1", now)


def test_workspace_key_authenticates_and_names_are_unique(registry: Registry) -> None:
    created, _ = Workspaces(registry).create_workspace(CreateWorkspace(name="acme", tier=Tier.PRO))
    identity = Workspaces(registry).authenticate_workspace(
        AuthenticateWorkspace(api_key=created.api_key)
    )
    assert identity.workspace_id == created.workspace_id and identity.tier is Tier.PRO
    with pytest.raises(ServiceError) as err:
        Workspaces(registry).create_workspace(CreateWorkspace(name="acme"))
    assert err.value.kind is ErrorKind.CONFLICT
    with pytest.raises(ServiceError) as err:
        mistyped = created.api_key[:-1] + ("x" if created.api_key[-1] != "x" else "y")
        Workspaces(registry).authenticate_workspace(AuthenticateWorkspace(api_key=mistyped))
    assert err.value.kind is ErrorKind.UNAUTHORIZED


def test_provision_register_authenticate_and_isolation(registry: Registry) -> None:
    ws, _ = Workspaces(registry).create_workspace(CreateWorkspace(name="a"))
    other, _ = Workspaces(registry).create_workspace(CreateWorkspace(name="b"))
    provisioned, _ = Enrollment(registry).provision_agent(
        ProvisionAgent(workspace_id=ws.workspace_id, client_type=ClientType.CURSOR, ttl_seconds=60)
    )
    assert provisioned.expires_at - datetime.now(UTC) <= timedelta(seconds=60)
    record, _ = Enrollment(registry).register_agent(
        RegisterAgent(
            workspace_id=ws.workspace_id, agent_id=provisioned.agent_id, token=provisioned.token
        )
    )
    assert record.registered
    with pytest.raises(ServiceError) as err:
        Enrollment(registry).register_agent(
            RegisterAgent(
                workspace_id=ws.workspace_id, agent_id=provisioned.agent_id, token=provisioned.token
            )
        )
    assert err.value.kind is ErrorKind.CONFLICT
    identity = AgentCredentials(registry).authenticate_agent(
        AuthenticateAgent(agent_id=provisioned.agent_id, token=provisioned.token)
    )
    assert identity.workspace_id == ws.workspace_id
    with pytest.raises(ServiceError):
        AgentCredentials(registry).authenticate_agent(
            AuthenticateAgent(agent_id=provisioned.agent_id, token="agent_tok_" + "x" * 49)
        )
    assert len(Agents(registry).list_agents(ListAgents(workspace_id=ws.workspace_id)).agents) == 1
    assert Agents(registry).list_agents(ListAgents(workspace_id=other.workspace_id)).agents == []
    with pytest.raises(ServiceError) as err:
        Agents(registry).get_agent(
            GetAgent(workspace_id=other.workspace_id, agent_id=provisioned.agent_id)
        )
    assert err.value.kind is ErrorKind.NOT_FOUND


def test_expired_token_is_rejected(tmp_path: Path) -> None:
    now = [datetime.now(UTC)]
    registry = Registry(
        RegistryStore(allow_memory=True),
        SQLiteViewStore(tmp_path / "v.sqlite"),
        b"k" * 32,
        clock=lambda: now[0],
    )
    ws, _ = Workspaces(registry).create_workspace(CreateWorkspace(name="a"))
    agent, _ = Enrollment(registry).provision_agent(
        ProvisionAgent(workspace_id=ws.workspace_id, client_type=ClientType.V0, ttl_seconds=60)
    )
    AgentCredentials(registry).authenticate_agent(
        AuthenticateAgent(agent_id=agent.agent_id, token=agent.token)
    )
    now[0] += timedelta(seconds=61)
    with pytest.raises(ServiceError) as err:
        AgentCredentials(registry).authenticate_agent(
            AuthenticateAgent(agent_id=agent.agent_id, token=agent.token)
        )
    assert err.value.kind is ErrorKind.UNAUTHORIZED
