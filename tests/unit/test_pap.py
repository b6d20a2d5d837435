"""Seed 004 (PAP agents): name claims, use cases, rate limits, report bodies (no network)."""

from __future__ import annotations

import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI, Request

from agentplane.contracts.agents import ListAgents, ProvisionAgent
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.pap import (
    CreatePapAgent,
    GetPapAgent,
    ListPapAgents,
    PapResources,
    TerminatePapAgent,
)
from agentplane.contracts.workspaces import CreateWorkspace, Tier, WorkspaceIdentity
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.gateway import rate_limits
from agentplane.gateway.rate_limits import (
    RateLimits,
    enforce_rate_limit,
    install_rate_limits,
)
from agentplane.gateway.routers.pap_shapes import (
    NAME_NOT_DNS_SAFE,
    NAME_REQUIRED,
    dns_safe_name,
)
from agentplane.registry.agents import Agents
from agentplane.registry.application import Registry, RegistryStore
from agentplane.registry.dialects.pap import PapAgents, quantity
from agentplane.registry.domain.agent_name import AgentName, NameTaken
from agentplane.registry.enrollment import Enrollment
from agentplane.registry.workspaces import Workspaces


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(
        RegistryStore(allow_memory=True),
        SQLiteViewStore(tmp_path / "views.sqlite"),
        b"k" * 32,
        agent_domain="is.plugged.in",
    )


@pytest.fixture
def pap(registry: Registry) -> PapAgents:
    return PapAgents(registry, registry.agent_domain)


def workspace(registry: Registry) -> str:
    created, _ = Workspaces(registry).create_workspace(
        CreateWorkspace(name=f"ws-{uuid4().hex[:8]}")
    )
    return created.workspace_id


def create(pap: PapAgents, ws: str, name: str, **fields: Any) -> Any:
    return pap.create(CreatePapAgent(workspace_id=ws, name=name, **fields))[0].agent


def error_of(call: Any) -> ServiceError:
    with pytest.raises(ServiceError) as err:
        call()
    return err.value


# -- domain ---------------------------------------------------------------------------------


def test_name_claim_is_held_until_its_agent_releases_it() -> None:
    first, second = uuid4(), uuid4()
    claim = AgentName.claim("ws_1", "my-agent", first)
    with pytest.raises(NameTaken):
        claim.reclaim(second)
    claim.release(second)  # not the holder: nothing happens
    assert claim.holder == first
    claim.release(first)
    claim.reclaim(second)
    assert claim.holder == second
    topics = [type(e).TOPIC for e in claim.collect_events()]
    assert topics == ["agent_name.Claimed", "agent_name.Released", "agent_name.Reclaimed"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("100m", "0.1"), ("1000m", "1"), ("2", "2"), ("256Mi", str(256 * 2**20)), ("1G", "1e9")],
)
def test_quantities(value: str, expected: str) -> None:
    assert quantity(value) == type(quantity(value))(expected)


# -- use cases ------------------------------------------------------------------------------


def test_create_applies_documented_defaults(registry: Registry, pap: PapAgents) -> None:
    ws = workspace(registry)
    agent = create(pap, ws, "my-agent", description="My autonomous agent")
    assert agent.name == "my-agent"
    assert agent.dns_name == "my-agent.is.plugged.in"
    assert agent.state == "NEW"
    assert agent.kubernetes_namespace == "agents"
    assert agent.kubernetes_deployment == "my-agent"
    assert agent.provisioned_at is None and agent.activated_at is None
    assert agent.terminated_at is None and agent.last_heartbeat_at is None
    assert agent.metadata == {
        "description": "My autonomous agent",
        "image": "nginxinc/nginx-unprivileged:alpine",
        "resources": {
            "cpu_request": "100m",
            "memory_request": "256Mi",
            "cpu_limit": "1000m",
            "memory_limit": "1Gi",
        },
    }


def test_pap_agent_is_an_agent_of_the_fleet_without_a_usable_token(
    registry: Registry, pap: PapAgents
) -> None:
    ws = workspace(registry)
    agent = create(pap, ws, "fleet-member")
    (record,) = Agents(registry).list_agents(ListAgents(workspace_id=ws)).agents
    assert record.id == agent.uuid and record.dialect == "pap" and record.name == "fleet-member"
    assert record.token_prefix == ""
    stored = registry.store.repository.get(agent.uuid)
    assert len(stored.token_hash) == 64  # a keyed hash of a secret nobody was shown


def test_request_above_limit_is_refused(registry: Registry, pap: PapAgents) -> None:
    ws = workspace(registry)
    resources = PapResources(cpu_request="2", cpu_limit="1000m")
    err = error_of(lambda: create(pap, ws, "greedy", resources=resources))
    assert err.kind is ErrorKind.VALIDATION
    assert err.body.message == "resources.cpu_request must not exceed resources.cpu_limit"
    resources = PapResources(memory_request="2Gi")
    err = error_of(lambda: create(pap, ws, "greedy", resources=resources))
    assert err.body.message == "resources.memory_request must not exceed resources.memory_limit"
    assert pap.list(ListPapAgents(workspace_id=ws)).agents == []


def test_names_are_unique_per_workspace_and_free_again_after_termination(
    registry: Registry, pap: PapAgents
) -> None:
    ws, other = workspace(registry), workspace(registry)
    first = create(pap, ws, "my-agent")
    err = error_of(lambda: create(pap, ws, "my-agent"))
    assert (
        err.kind is ErrorKind.CONFLICT and err.body.message == "Agent with this name already exists"
    )
    assert create(pap, other, "my-agent").uuid != first.uuid
    pap.terminate(TerminatePapAgent(workspace_id=ws, agent_id=first.uuid))
    again = create(pap, ws, "my-agent")
    assert again.uuid != first.uuid
    states = {a.uuid: a.state for a in pap.list(ListPapAgents(workspace_id=ws)).agents}
    assert states == {first.uuid: "TERMINATED", again.uuid: "NEW"}


def test_parallel_creates_of_one_name_admit_exactly_one(registry: Registry, pap: PapAgents) -> None:
    ws = workspace(registry)

    def attempt(_: int) -> str:
        try:
            create(pap, ws, "racer")
            return "created"
        except ServiceError as exc:
            return exc.kind.value

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    assert outcomes.count("created") == 1, outcomes
    assert set(outcomes) == {"created", "conflict"}
    # The losers' attempts left no trace in shared aggregates: the name still works normally.
    (winner,) = pap.list(ListPapAgents(workspace_id=ws)).agents
    assert error_of(lambda: create(pap, ws, "racer")).kind is ErrorKind.CONFLICT
    pap.terminate(TerminatePapAgent(workspace_id=ws, agent_id=winner.uuid))
    assert create(pap, ws, "racer").state == "NEW"


def test_terminate_keeps_the_record_and_is_idempotent(registry: Registry, pap: PapAgents) -> None:
    ws = workspace(registry)
    agent = create(pap, ws, "short-lived")
    done, position = pap.terminate(TerminatePapAgent(workspace_id=ws, agent_id=agent.uuid))
    assert not done.already and position > 0
    assert done.agent.state == "TERMINATED" and done.agent.terminated_at is not None
    again, position = pap.terminate(TerminatePapAgent(workspace_id=ws, agent_id=agent.uuid))
    assert again.already and position == 0 and again.agent == done.agent
    # The history is the lifecycle service's (tests/unit/test_pap_states.py).
    assert pap.get(GetPapAgent(workspace_id=ws, agent_id=agent.uuid)).agent == done.agent


def test_agents_of_other_workspaces_and_dialects_are_not_found(
    registry: Registry, pap: PapAgents
) -> None:
    ws, other = workspace(registry), workspace(registry)
    agent = create(pap, ws, "mine")
    v1, _ = Enrollment(registry).provision_agent(
        ProvisionAgent(workspace_id=ws, client_type="cursor")
    )
    for workspace_id, agent_id in [(other, agent.uuid), (ws, v1.agent_id), (ws, uuid4())]:
        get = GetPapAgent(workspace_id=workspace_id, agent_id=agent_id)
        assert error_of(lambda q=get: pap.get(q)).body.message == "Agent not found"
        term = TerminatePapAgent(workspace_id=workspace_id, agent_id=agent_id)
        assert error_of(lambda c=term: pap.terminate(c)).kind is ErrorKind.NOT_FOUND
    assert [a.uuid for a in pap.list(ListPapAgents(workspace_id=ws)).agents] == [agent.uuid]
    assert pap.list(ListPapAgents(workspace_id=other)).agents == []


def test_view_rebuilds_identically_from_the_log(registry: Registry, pap: PapAgents) -> None:
    from agentplane.eventstore.projection import ProjectionRunner
    from agentplane.registry.projections import RegistryProjection

    ws = workspace(registry)
    agent = create(pap, ws, "replayed")
    pap.terminate(TerminatePapAgent(workspace_id=ws, agent_id=agent.uuid))
    scratch = SQLiteViewStore(":memory:")
    ProjectionRunner(registry.store, scratch, RegistryProjection()).catch_up()
    assert scratch.dump() == registry.views.dump()


# -- gateway pieces -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (None, NAME_REQUIRED),
        ("", NAME_REQUIRED),
        ("My-Agent", NAME_NOT_DNS_SAFE),
        ("my_agent", NAME_NOT_DNS_SAFE),
        ("-agent", NAME_NOT_DNS_SAFE),
        ("agent-", NAME_NOT_DNS_SAFE),
        ("my.agent", NAME_NOT_DNS_SAFE),
        ("my agent", NAME_NOT_DNS_SAFE),
        ("agent\n", NAME_NOT_DNS_SAFE),
        ("a" * 64, NAME_NOT_DNS_SAFE),
        (42, NAME_NOT_DNS_SAFE),
        (["agent"], NAME_NOT_DNS_SAFE),
    ],
)
def test_invalid_names(name: Any, message: str) -> None:
    err = error_of(lambda: dns_safe_name(name))
    assert err.kind is ErrorKind.VALIDATION and err.body.message == message


@pytest.mark.parametrize("name", ["a", "0", "my-agent", "a1-b2-c3", "x--y", "a" * 63, "123"])
def test_valid_names(name: str) -> None:
    assert dns_safe_name(name) == name


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(rate_limits, "time", types.SimpleNamespace(time=fake.time))
    return fake


def test_free_tier_minute_and_burst(clock: FakeClock) -> None:
    limits = RateLimits()
    admitted = 0
    for _second in range(7):
        for _ in range(10):
            decision = limits.check("ws_free", Tier.FREE)
            if not decision.allowed:
                break
            admitted += 1
            assert decision.headers["X-RateLimit-Limit"] == "60"
            assert decision.headers["X-RateLimit-Remaining"] == str(60 - admitted)
            assert decision.headers["X-RateLimit-Reset"] == str(1_700_000_060)
            assert "Retry-After" not in decision.headers
        clock.now += 1.0
        if admitted == 60:
            break
    assert admitted == 60
    # The 61st request of the minute is refused until the first one leaves the window.
    denied = limits.check("ws_free", Tier.FREE)
    assert not denied.allowed
    assert denied.headers["X-RateLimit-Remaining"] == "0"
    assert denied.headers["X-RateLimit-Reset"] == str(1_700_000_060)
    assert denied.headers["Retry-After"] == str(1_700_000_060 - int(clock.now))
    assert limits.check("ws_other", Tier.FREE).allowed  # other workspaces are unaffected
    clock.now = 1_700_000_060.5
    assert limits.check("ws_free", Tier.FREE).allowed


def test_burst_refuses_the_eleventh_request_within_a_second(clock: FakeClock) -> None:
    limits = RateLimits()
    assert all(limits.check("ws", Tier.FREE).allowed for _ in range(10))
    denied = limits.check("ws", Tier.FREE)
    assert not denied.allowed
    assert denied.headers["Retry-After"] == "1"
    assert denied.headers["X-RateLimit-Remaining"] == "50"  # refused requests cost nothing
    assert denied.headers["X-RateLimit-Reset"] == str(int(clock.now) + 1)
    clock.now += 1.01
    assert limits.check("ws", Tier.FREE).allowed


@pytest.mark.parametrize(("tier", "burst"), [(Tier.PRO, 50), (Tier.ENTERPRISE, 100)])
def test_tier_limits(clock: FakeClock, tier: Tier, burst: int) -> None:
    limits = RateLimits()
    assert all(limits.check("ws", tier).allowed for _ in range(burst))
    assert not limits.check("ws", tier).allowed
    minute = {Tier.PRO: "300", Tier.ENTERPRISE: "1000"}[tier]
    assert limits.check("ws", tier).headers["X-RateLimit-Limit"] == minute


async def test_headers_reach_success_and_error_answers(clock: FakeClock) -> None:
    app = FastAPI()
    install_rate_limits(app)
    identity = WorkspaceIdentity(workspace_id="ws_h", workspace_name="h", tier=Tier.FREE)

    @app.get("/limited")
    async def limited(request: Request) -> dict[str, bool]:
        enforce_rate_limit(request, identity)
        return {"ok": True}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = [await client.get("/limited") for _ in range(11)]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert answers[0].headers["x-ratelimit-remaining"] == "59"
    refused = answers[-1]
    assert refused.json() == {"error": "Too Many Requests", "kind": "rate_limited"}
    assert refused.headers["retry-after"] == "1"
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(
        refused.headers
    )


def test_agent_domain_setting_reaches_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentplane.registry.main import build_registry
    from agentplane.settings import Settings

    monkeypatch.setenv("AGENTPLANE_AGENT_DOMAIN", "is.plugged.in")
    monkeypatch.setenv("AGENTPLANE_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.agent_domain == "is.plugged.in"
    built = build_registry(settings)
    assert built.agent_domain == "is.plugged.in"
    ws = workspace(built)
    assert create(PapAgents(built, built.agent_domain), ws, "my-agent").dns_name == (
        "my-agent.is.plugged.in"
    )
    monkeypatch.delenv("AGENTPLANE_AGENT_DOMAIN")
    assert Settings().agent_domain == "agents.local"
