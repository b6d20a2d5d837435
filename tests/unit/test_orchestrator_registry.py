"""Orchestrator agent use cases (seed 002) with in-memory persistence (no network)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentplane.contracts.agents import EnrollmentKind, IssueEnrollmentToken
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.orchestrator import (
    AuthenticateOrchestratorCertificate,
    AuthenticateOrchestratorToken,
    DeleteOrchestratorAgent,
    OrchestratorAgentRegistered,
    OrchestratorConfig,
    RegisterOrchestratorAgent,
    RenewOrchestratorCertificate,
    UpdateOrchestratorAgent,
)
from agentplane.contracts.workspaces import CreateWorkspace
from agentplane.eventstore.application import store_env
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.registry.application import Registry, RegistryStore
from agentplane.registry.dialects.orchestrator import OrchestratorAgents
from agentplane.registry.domain import Agent
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
from agentplane.settings import Settings

KEY = b"k" * 32
START = datetime(2026, 1, 10, 14, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def agents(tmp_path: Path, clock: Clock) -> OrchestratorAgents:
    # The aggregate cache configured exactly as in production, over an in-memory store.
    production = store_env(Settings(data_dir=tmp_path), RegistryStore.name)
    store = RegistryStore(
        {k: v for k, v in production.items() if k.startswith(("AGGREGATE_", "DEEPCOPY_"))},
        allow_memory=True,
    )
    registry = Registry(store, SQLiteViewStore(tmp_path / "views.sqlite"), KEY, clock=clock)
    return OrchestratorAgents(
        registry,
        CertificateAuthority.load_or_create(tmp_path),
        AgentJwtSigner(jwt_signing_key(KEY)),
        OrchestratorConfig(heartbeat_interval=30, task_poll_interval=5, log_level="info"),
    )


def workspace(agents: OrchestratorAgents) -> str:
    created, _ = Workspaces(agents.registry).create_workspace(
        CreateWorkspace(name=f"ws-{uuid4().hex}")
    )
    return created.workspace_id


def token(
    agents: OrchestratorAgents, ws: str, kind: EnrollmentKind = EnrollmentKind.REGISTRATION
) -> str:
    issued, _ = Enrollment(agents.registry).issue_enrollment_token(
        IssueEnrollmentToken(workspace_id=ws, kind=kind)
    )
    return issued.token


def register_cmd(
    reg_token: str, name: str = "agent-prod-01", **extra: Any
) -> RegisterOrchestratorAgent:
    return RegisterOrchestratorAgent(
        registration_token=reg_token,
        name=name,
        version="1.0.0",
        capabilities=extra.pop("capabilities", ["docker", "compose"]),
        labels=extra.pop("labels", {"datacenter": "us-east-1"}),
        public_key_pem=public_key_pem(new_private_key()),
    )


def register(
    agents: OrchestratorAgents, reg_token: str, name: str = "agent-prod-01"
) -> OrchestratorAgentRegistered:
    result, position = agents.register(register_cmd(reg_token, name))
    assert position > 0
    return result


def kind_of(call: Any) -> ErrorKind:
    with pytest.raises(ServiceError) as err:
        call()
    return err.value.kind


def test_registration_records_both_credentials_and_uses_the_token_once(
    agents: OrchestratorAgents,
) -> None:
    ws = workspace(agents)
    reg = token(agents, ws)
    result = register(agents, reg)
    assert result.workspace_id == ws and result.config.heartbeat_interval == 30
    identity = agents.authenticate_token(AuthenticateOrchestratorToken(token=result.token))
    assert identity.agent_id == result.agent_id and identity.workspace_id == ws
    by_cert = agents.authenticate_certificate(
        AuthenticateOrchestratorCertificate(
            agent_id=result.agent_id, serial=result.certificate.serial
        )
    )
    assert by_cert.agent_id == result.agent_id
    agent: Agent = agents.registry.store.repository.get(result.agent_id)
    assert agent.dialect == "orchestrator" and agent.name == "agent-prod-01"
    assert agent.attributes == {"version": "1.0.0", "labels": {"datacenter": "us-east-1"}}
    assert [c["name"] for c in agent.capabilities] == ["docker", "compose"]
    assert {c["kind"] for c in agent.credentials.values()} == {"jwt", "certificate"}
    assert result.certificate.serial in agent.credentials
    assert kind_of(lambda: agents.register(register_cmd(reg, "other"))) is ErrorKind.UNAUTHORIZED


def test_invalid_foreign_kind_and_expired_tokens_are_401(
    agents: OrchestratorAgents, clock: Clock
) -> None:
    ws = workspace(agents)
    for bad in ("", "ap_reg_x", token(agents, ws, EnrollmentKind.ENROLLMENT)):
        assert kind_of(lambda b=bad: agents.register(register_cmd(b))) is ErrorKind.UNAUTHORIZED
    reg = token(agents, ws)
    clock.now = START + timedelta(hours=24)
    assert kind_of(lambda: agents.register(register_cmd(reg))) is ErrorKind.UNAUTHORIZED


def test_taken_name_is_409_and_leaves_the_token_usable(agents: OrchestratorAgents) -> None:
    ws = workspace(agents)
    register(agents, token(agents, ws), "web")
    reg = token(agents, ws)
    assert kind_of(lambda: agents.register(register_cmd(reg, "web"))) is ErrorKind.CONFLICT
    assert register(agents, reg, "web-2").agent_id
    # Another workspace may use the name.
    assert register(agents, token(agents, workspace(agents)), "web").agent_id


def test_parallel_registrations_with_one_token_admit_exactly_one(
    agents: OrchestratorAgents,
) -> None:
    reg = token(agents, workspace(agents))

    def attempt(i: int) -> str:
        try:
            agents.register(register_cmd(reg, f"agent-{i}"))
            return "ok"
        except ServiceError as exc:
            return exc.kind.value

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(attempt, range(40)))
    assert outcomes.count("ok") == 1
    assert set(outcomes) == {"ok", "unauthorized"}


def test_delete_revokes_jwt_and_certificate_and_frees_the_name(agents: OrchestratorAgents) -> None:
    ws = workspace(agents)
    result = register(agents, token(agents, ws), "gone")
    deleted, _ = agents.delete(DeleteOrchestratorAgent(workspace_id=ws, agent_id=result.agent_id))
    assert deleted.deleted
    assert (
        kind_of(
            lambda: agents.authenticate_token(AuthenticateOrchestratorToken(token=result.token))
        )
        is ErrorKind.UNAUTHORIZED
    )
    cert_query = AuthenticateOrchestratorCertificate(
        agent_id=result.agent_id, serial=result.certificate.serial
    )
    assert kind_of(lambda: agents.authenticate_certificate(cert_query)) is ErrorKind.UNAUTHORIZED
    renew = RenewOrchestratorCertificate(agent_id=result.agent_id, cert_pem=result.certificate.cert)
    assert kind_of(lambda: agents.renew_certificate(renew)) is ErrorKind.UNAUTHORIZED
    again = DeleteOrchestratorAgent(workspace_id=ws, agent_id=result.agent_id)
    assert kind_of(lambda: agents.delete(again)) is ErrorKind.NOT_FOUND
    assert register(agents, token(agents, ws), "gone").agent_id != result.agent_id


def test_update_replaces_labels_and_capabilities_in_its_workspace_only(
    agents: OrchestratorAgents,
) -> None:
    ws = workspace(agents)
    result = register(agents, token(agents, ws))
    record, _ = agents.update(
        UpdateOrchestratorAgent(
            workspace_id=ws,
            agent_id=result.agent_id,
            labels={"datacenter": "us-west-2"},
            capabilities=["docker", "compose", "ssh", "ssh"],
        )
    )
    assert record.attributes["labels"] == {"datacenter": "us-west-2"}
    assert [c.name for c in record.capabilities] == ["docker", "compose", "ssh"]
    record, _ = agents.update(
        UpdateOrchestratorAgent(workspace_id=ws, agent_id=result.agent_id, capabilities=[])
    )
    assert record.capabilities == [] and record.attributes["labels"] == {"datacenter": "us-west-2"}
    for ws_id, agent_id in ((workspace(agents), result.agent_id), (ws, uuid4())):
        cmd = UpdateOrchestratorAgent(workspace_id=ws_id, agent_id=agent_id, labels={})
        assert kind_of(lambda c=cmd: agents.update(c)) is ErrorKind.NOT_FOUND


def test_renewal_within_the_last_hour_records_the_new_serial(
    agents: OrchestratorAgents, clock: Clock
) -> None:
    result = register(agents, token(agents, workspace(agents)))
    renew = RenewOrchestratorCertificate(agent_id=result.agent_id, cert_pem=result.certificate.cert)
    not_due, position = agents.renew_certificate(renew)
    assert not_due.renewal is None and position == 0
    clock.now = START + timedelta(hours=23, minutes=30)
    due, position = agents.renew_certificate(renew)
    assert due.renewal is not None and position > 0
    assert due.renewal.serial != result.certificate.serial
    assert due.renewal.expires_at == clock.now.replace(microsecond=0) + timedelta(hours=24)
    identity = agents.authenticate_certificate(
        AuthenticateOrchestratorCertificate(agent_id=result.agent_id, serial=due.renewal.serial)
    )
    assert identity.agent_id == result.agent_id
    other = RenewOrchestratorCertificate(agent_id=uuid4(), cert_pem=result.certificate.cert)
    assert kind_of(lambda: agents.renew_certificate(other)) is ErrorKind.FORBIDDEN
    clock.now = START + timedelta(hours=25)
    assert kind_of(lambda: agents.renew_certificate(renew)) is ErrorKind.UNAUTHORIZED


def test_a_token_of_an_unknown_or_foreign_agent_is_rejected(agents: OrchestratorAgents) -> None:
    forged = agents.jwts.issue(str(uuid4()), "ws_x", START).token
    assert (
        kind_of(lambda: agents.authenticate_token(AuthenticateOrchestratorToken(token=forged)))
        is ErrorKind.UNAUTHORIZED
    )
    result = register(agents, token(agents, workspace(agents)))
    # A genuine signature with an unrecorded jti (e.g. minted with a leaked key) is refused.
    minted = agents.jwts.issue(str(result.agent_id), result.workspace_id, START).token
    assert (
        kind_of(lambda: agents.authenticate_token(AuthenticateOrchestratorToken(token=minted)))
        is ErrorKind.UNAUTHORIZED
    )
    unknown = AuthenticateOrchestratorCertificate(agent_id=UUID(int=1), serial="abc")
    assert kind_of(lambda: agents.authenticate_certificate(unknown)) is ErrorKind.UNAUTHORIZED
