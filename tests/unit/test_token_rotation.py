"""Seed 000 token rotation, capability sets and token expiry as registry use cases (no network)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentplane.contracts.agent_credentials import (
    AgentTokenRotated,
    FindAgentsByCapability,
    ListExpiringTokens,
    ReplaceCapabilities,
    RotateAgentToken,
)
from agentplane.contracts.agents import (
    AuthenticateAgent,
    Capability,
    ClientType,
    GetAgent,
    ProvisionAgent,
    RegisterAgent,
)
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.workspaces import CreateWorkspace
from agentplane.eventstore.application import store_env
from agentplane.eventstore.integration import to_integration
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.registry.agents import Agents
from agentplane.registry.application import Registry, RegistryStore
from agentplane.registry.capabilities import Capabilities
from agentplane.registry.credentials import AgentCredentials
from agentplane.registry.domain import Agent
from agentplane.registry.domain.credential import revoke_all_credentials
from agentplane.registry.enrollment import Enrollment
from agentplane.registry.translate import TRANSLATOR
from agentplane.registry.workspaces import Workspaces
from agentplane.security import is_well_formed, keyed_hash
from agentplane.settings import Settings

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
# The aggregate cache exactly as services run it (see eventstore.application.store_env).
# The aggregate cache exactly as production configures it (see eventstore.application).
CACHED = {
    k: v
    for k, v in store_env(Settings(data_dir=Path(".")), RegistryStore.name).items()
    if k.startswith(("AGGREGATE_", "DEEPCOPY_"))
}


class Clock:
    """A settable clock for the registry."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(tmp_path: Path, clock: Clock) -> Iterator[Registry]:
    views = SQLiteViewStore(tmp_path / "views.sqlite")
    yield Registry(RegistryStore(CACHED, allow_memory=True), views, b"k" * 32, clock=clock)
    views.close()


@pytest.fixture
def credentials(registry: Registry) -> AgentCredentials:
    return AgentCredentials(registry)


@pytest.fixture
def ws(registry: Registry) -> str:
    return (
        Workspaces(registry)
        .create_workspace(CreateWorkspace(name=f"ws-{uuid4().hex[:8]}"))[0]
        .workspace_id
    )


def register(registry: Registry, ws: str, name: str = "web-server-1") -> tuple[UUID, str]:
    agent_id, token = uuid4(), "agent_tok_" + uuid4().hex
    Enrollment(registry).register_agent(
        RegisterAgent(workspace_id=ws, agent_id=agent_id, token=token, name=name)
    )
    return agent_id, token


def authenticates(registry: Registry, agent_id: UUID, token: str) -> bool:
    try:
        AgentCredentials(registry).authenticate_agent(
            AuthenticateAgent(agent_id=agent_id, token=token)
        )
    except ServiceError as exc:
        assert exc.kind is ErrorKind.UNAUTHORIZED
        return False
    return True


def rotate(credentials: AgentCredentials, agent_id: UUID, token: str) -> AgentTokenRotated:
    return credentials.rotate_token(RotateAgentToken(agent_id=agent_id, current_token=token))[0]


def error_of(call: Any, *args: Any) -> ErrorKind:
    with pytest.raises(ServiceError) as err:
        call(*args)
    return err.value.kind


def recorded(registry: Registry, agent_id: UUID) -> list[Any]:
    return list(registry.store.events.get(agent_id))


# -- rotation -------------------------------------------------------------------------------


def test_rotation_replaces_the_token_at_once(
    registry: Registry, credentials: AgentCredentials, ws: str, clock: Clock
) -> None:
    agent_id, old = register(registry, ws)
    clock.now = T0 + timedelta(minutes=5)
    rotated = rotate(credentials, agent_id, old)

    assert rotated.agent_id == agent_id
    assert is_well_formed(rotated.new_token, "agent_tok_")
    assert rotated.expires_at == clock.now + registry.agent_token_ttl
    assert authenticates(registry, agent_id, rotated.new_token)
    assert not authenticates(registry, agent_id, old)
    # The old token can rotate no more; the new one can.
    assert error_of(rotate, credentials, agent_id, old) is ErrorKind.UNAUTHORIZED
    again = rotate(credentials, agent_id, rotated.new_token)
    assert not authenticates(registry, agent_id, rotated.new_token)
    assert authenticates(registry, agent_id, again.new_token)


def test_rotation_lifetime_comes_from_the_registry_setting(tmp_path: Path, clock: Clock) -> None:
    views = SQLiteViewStore(tmp_path / "v.sqlite")
    registry = Registry(
        RegistryStore(allow_memory=True),
        views,
        b"k" * 32,
        agent_token_ttl=timedelta(hours=3),
        clock=clock,
    )
    ws = Workspaces(registry).create_workspace(CreateWorkspace(name="w"))[0].workspace_id
    agent_id, token = register(registry, ws)
    rotated = rotate(AgentCredentials(registry), agent_id, token)
    assert rotated.expires_at == T0 + timedelta(hours=3)
    views.close()


def test_rotation_records_only_public_prefixes(
    registry: Registry, credentials: AgentCredentials, ws: str
) -> None:
    agent_id, old = register(registry, ws)
    old_prefix = (
        Agents(registry).get_agent(GetAgent(workspace_id=ws, agent_id=agent_id)).token_prefix
    )
    new = rotate(credentials, agent_id, old).new_token

    event = recorded(registry, agent_id)[-1]
    assert isinstance(event, Agent.TokenRotated)
    assert event.old_token_prefix == old_prefix and old.startswith(old_prefix)
    assert new.startswith(event.token_prefix) and len(event.token_prefix) < len(new) // 2
    public = to_integration("registry", 1, event, TRANSLATOR)
    assert public.type == "agent.TokenRotated"
    assert set(public.data) == {"old_token_prefix", "token_prefix", "token_expires_at"}
    assert old not in str(public.data) and new not in str(public.data)
    # The read model shows the new prefix and expiry, never the token.
    record = Agents(registry).get_agent(GetAgent(workspace_id=ws, agent_id=agent_id))
    assert record.token_prefix == event.token_prefix
    assert record.token_expires_at == event.token_expires_at


def test_rotation_of_a_provisioned_agent(
    registry: Registry, credentials: AgentCredentials, ws: str
) -> None:
    provisioned, _ = Enrollment(registry).provision_agent(
        ProvisionAgent(workspace_id=ws, client_type=ClientType.CURSOR, ttl_seconds=600)
    )
    rotated = rotate(credentials, provisioned.agent_id, provisioned.token)
    assert rotated.expires_at == T0 + registry.agent_token_ttl
    assert not authenticates(registry, provisioned.agent_id, provisioned.token)
    assert authenticates(registry, provisioned.agent_id, rotated.new_token)


@pytest.mark.parametrize("case", ["wrong", "unknown", "empty", "other_agent"])
def test_rotation_needs_the_agents_current_token(
    registry: Registry, credentials: AgentCredentials, ws: str, case: str
) -> None:
    agent_id, token = register(registry, ws)
    other_id, other_token = register(registry, ws, "other")
    target, presented = {
        "wrong": (agent_id, token[:-1] + ("x" if token[-1] != "x" else "y")),
        "unknown": (uuid4(), token),
        "empty": (agent_id, ""),
        "other_agent": (agent_id, other_token),
    }[case]
    assert error_of(rotate, credentials, target, presented) is ErrorKind.UNAUTHORIZED
    assert authenticates(registry, agent_id, token)
    assert authenticates(registry, other_id, other_token)


def test_expired_token_cannot_rotate(
    registry: Registry, credentials: AgentCredentials, ws: str, clock: Clock
) -> None:
    provisioned, _ = Enrollment(registry).provision_agent(
        ProvisionAgent(workspace_id=ws, client_type=ClientType.CURSOR, ttl_seconds=60)
    )
    clock.now = T0 + timedelta(seconds=60)
    assert (
        error_of(rotate, credentials, provisioned.agent_id, provisioned.token)
        is ErrorKind.UNAUTHORIZED
    )


@pytest.mark.parametrize("ending", ["revoke", "delete", "terminate"])
def test_no_rotation_after_revocation(
    registry: Registry, credentials: AgentCredentials, ws: str, ending: str
) -> None:
    agent_id, token = register(registry, ws)
    agent = registry.load(agent_id)
    {
        "revoke": lambda: revoke_all_credentials(agent, "test"),
        "delete": agent.delete,
        "terminate": lambda: agent.terminate(T0),
    }[ending]()
    registry.save(agent)
    assert error_of(rotate, credentials, agent_id, token) is ErrorKind.UNAUTHORIZED


def test_agents_of_other_dialects_rotate_their_own_way(
    registry: Registry, credentials: AgentCredentials, ws: str
) -> None:
    token = "ap_key_" + uuid4().hex
    agent = Agent.enroll(
        uuid4(), ws, "device", "d", None, keyed_hash(token, registry.key), "ap_key_x", None, {}
    )
    registry.save(agent)
    assert error_of(rotate, credentials, agent.id, token) is ErrorKind.UNAUTHORIZED


def test_parallel_rotations_with_one_token_have_one_winner(
    registry: Registry, credentials: AgentCredentials, ws: str
) -> None:
    agent_id, token = register(registry, ws)

    def attempt(_: int) -> AgentTokenRotated | ErrorKind:
        try:
            return rotate(credentials, agent_id, token)
        except ServiceError as exc:
            return exc.kind

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    winners = [o for o in outcomes if isinstance(o, AgentTokenRotated)]
    assert len(winners) == 1, outcomes
    assert all(o is ErrorKind.UNAUTHORIZED for o in outcomes if o not in winners)
    assert sum(isinstance(e, Agent.TokenRotated) for e in recorded(registry, agent_id)) == 1
    # The shared cached aggregate still agrees with the store: only the winner's token works.
    assert authenticates(registry, agent_id, winners[0].new_token)
    assert not authenticates(registry, agent_id, token)


def test_two_rotations_that_both_pass_the_token_check_have_one_winner(
    tmp_path: Path, clock: Clock
) -> None:
    """Deterministic interleaving: both commands change the agent before either saves."""
    both_changed = threading.Barrier(2, timeout=5)

    class Interleaved(Registry):
        def save(self, *aggregates: Any) -> int:
            if any(isinstance(e, Agent.TokenRotated) for a in aggregates for e in a.pending_events):
                both_changed.wait()
            return super().save(*aggregates)

    views = SQLiteViewStore(tmp_path / "v.sqlite")
    registry = Interleaved(RegistryStore(CACHED, allow_memory=True), views, b"k" * 32, clock=clock)
    ws = Workspaces(registry).create_workspace(CreateWorkspace(name="w"))[0].workspace_id
    agent_id, token = register(registry, ws)
    credentials = AgentCredentials(registry)

    def attempt(_: int) -> AgentTokenRotated | ErrorKind:
        try:
            return rotate(credentials, agent_id, token)
        except ServiceError as exc:
            return exc.kind

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(attempt, range(2)))
    winners = [o for o in outcomes if isinstance(o, AgentTokenRotated)]
    assert len(winners) == 1 and ErrorKind.UNAUTHORIZED in outcomes, outcomes
    assert authenticates(registry, agent_id, winners[0].new_token)
    assert not authenticates(registry, agent_id, token)
    views.close()


def test_commands_change_a_private_copy_not_the_shared_cached_agent(
    registry: Registry, ws: str
) -> None:
    agent_id, token = register(registry, ws)
    shared = registry.store.repository.get(agent_id)
    copy = registry.load(agent_id)
    assert copy is not shared and copy.version == shared.version
    copy.rotate_token("p", "h", "p", None)
    # Unsaved (e.g. a lost concurrent save): readers still see the stored state.
    assert shared.token_hash == keyed_hash(token, registry.key)
    assert authenticates(registry, agent_id, token)


# -- capabilities -----------------------------------------------------------------------------


def caps(*named: tuple[str, dict[str, Any]]) -> list[Capability]:
    return [Capability(name=n, metadata=m) for n, m in named]


def replace(
    credentials: AgentCredentials, ws: str, agent_id: UUID, capabilities: list[Capability]
) -> tuple[Any, int]:
    return Capabilities(credentials.registry).replace_capabilities(
        ReplaceCapabilities(workspace_id=ws, agent_id=agent_id, capabilities=capabilities)
    )


def test_capabilities_are_replaced_as_a_set(
    registry: Registry, credentials: AgentCredentials, ws: str
) -> None:
    agent_id, _ = register(registry, ws)
    first = caps(("gpu", {"model": "A100", "vram": "80GB"}), ("high-memory", {"ram": "256GB"}))
    result, position = replace(credentials, ws, agent_id, first)
    assert result.capabilities == first and position > 0
    assert (
        Agents(registry).get_agent(GetAgent(workspace_id=ws, agent_id=agent_id)).capabilities
        == first
    )

    second = caps(("tools", {}))
    replace(credentials, ws, agent_id, second)
    assert (
        Agents(registry).get_agent(GetAgent(workspace_id=ws, agent_id=agent_id)).capabilities
        == second
    )

    replace(credentials, ws, agent_id, [])
    assert (
        Agents(registry).get_agent(GetAgent(workspace_id=ws, agent_id=agent_id)).capabilities == []
    )


def test_an_unchanged_capability_set_records_nothing(
    registry: Registry, credentials: AgentCredentials, ws: str
) -> None:
    agent_id, _ = register(registry, ws)
    replace(credentials, ws, agent_id, caps(("gpu", {"model": "A100"})))
    before = len(recorded(registry, agent_id))
    result, position = replace(credentials, ws, agent_id, caps(("gpu", {"model": "A100"})))
    assert position == 0 and result.capabilities == caps(("gpu", {"model": "A100"}))
    assert len(recorded(registry, agent_id)) == before


def test_capabilities_of_unknown_or_foreign_agents_are_not_found(
    registry: Registry, credentials: AgentCredentials, ws: str
) -> None:
    other = Workspaces(registry).create_workspace(CreateWorkspace(name="other"))[0].workspace_id
    foreign_id, _ = register(registry, other)
    for agent_id in (uuid4(), foreign_id):
        assert error_of(replace, credentials, ws, agent_id, []) is ErrorKind.NOT_FOUND
    assert (
        Agents(registry).get_agent(GetAgent(workspace_id=other, agent_id=foreign_id)).capabilities
        == []
    )


def test_capabilities_of_deleted_or_terminated_agents(
    registry: Registry, credentials: AgentCredentials, ws: str
) -> None:
    deleted_id, _ = register(registry, ws, "deleted")
    agent = registry.load(deleted_id)
    agent.delete()
    registry.save(agent)
    assert error_of(replace, credentials, ws, deleted_id, []) is ErrorKind.NOT_FOUND

    ended_id, _ = register(registry, ws, "ended")
    agent = registry.load(ended_id)
    agent.terminate(T0)
    registry.save(agent)
    assert error_of(replace, credentials, ws, ended_id, []) is ErrorKind.CONFLICT


def test_duplicate_capability_names_are_invalid(
    registry: Registry, credentials: AgentCredentials, ws: str
) -> None:
    agent_id, _ = register(registry, ws)
    twice = caps(("gpu", {}), ("gpu", {"model": "H100"}))
    assert error_of(replace, credentials, ws, agent_id, twice) is ErrorKind.VALIDATION


def test_find_agents_by_capability(
    registry: Registry, credentials: AgentCredentials, ws: str
) -> None:
    gpu1, _ = register(registry, ws, "gpu-worker-1")
    gpu2, _ = register(registry, ws, "gpu-worker-2")
    cpu, _ = register(registry, ws, "cpu-worker")
    other = Workspaces(registry).create_workspace(CreateWorkspace(name="other"))[0].workspace_id
    foreign, _ = register(registry, other, "foreign-gpu")
    replace(credentials, ws, gpu1, caps(("gpu", {"model": "A100"}), ("ssd", {})))
    replace(credentials, ws, gpu2, caps(("gpu", {"model": "H100"})))
    replace(credentials, ws, cpu, caps(("high-memory", {"ram": "256GB"})))
    replace(credentials, other, foreign, caps(("gpu", {})))

    def find(name: str) -> list[UUID]:
        query = FindAgentsByCapability(workspace_id=ws, name=name)
        return [a.id for a in Capabilities(credentials.registry).find_by_capability(query).agents]

    assert find("gpu") == [gpu1, gpu2]
    assert find("high-memory") == [cpu]
    assert find("GPU") == [] and find("gp") == [] and find("none") == []
    replace(credentials, ws, gpu1, caps(("ssd", {})))
    assert find("gpu") == [gpu2]


# -- expiring tokens ---------------------------------------------------------------------------


def expiring(credentials: AgentCredentials, ws: str) -> list[tuple[UUID, int]]:
    found = credentials.expiring_tokens(ListExpiringTokens(workspace_id=ws)).agents
    return [(a.agent_id, a.hours_until_expiry) for a in found]


def test_expiring_tokens_window_and_whole_hours(
    registry: Registry, credentials: AgentCredentials, ws: str, clock: Clock
) -> None:
    def provision(ttl: int, name: str) -> UUID:
        cmd = ProvisionAgent(
            workspace_id=ws, client_type=ClientType.CURSOR, ttl_seconds=ttl, name=name
        )
        return Enrollment(registry).provision_agent(cmd)[0].agent_id

    two_hours = provision(7200, "web-server-1")
    one_minute = provision(60, "short")
    day, _ = register(registry, ws, "day")  # 24 h token: exactly at the window's edge
    found = credentials.expiring_tokens(ListExpiringTokens(workspace_id=ws)).agents
    assert [(a.agent_id, a.hours_until_expiry) for a in found] == [
        (one_minute, 0),
        (two_hours, 2),
        (day, 24),
    ]
    assert found[1].name == "web-server-1"
    assert found[1].token_expires_at == T0 + timedelta(hours=2)

    # Hours are whole hours, rounded down; an expired token is no longer "expiring".
    clock.now = T0 + timedelta(minutes=1, seconds=1)
    assert expiring(credentials, ws) == [(two_hours, 1), (day, 23)]
    clock.now = T0 + timedelta(hours=2)
    assert expiring(credentials, ws) == [(day, 22)]


def test_tokens_beyond_a_day_or_without_expiry_are_not_expiring(
    tmp_path: Path, clock: Clock
) -> None:
    views = SQLiteViewStore(tmp_path / "v.sqlite")
    registry = Registry(
        RegistryStore(allow_memory=True),
        views,
        b"k" * 32,
        agent_token_ttl=timedelta(hours=48),
        clock=clock,
    )
    credentials = AgentCredentials(registry)
    ws = Workspaces(registry).create_workspace(CreateWorkspace(name="w"))[0].workspace_id
    agent_id, _ = register(registry, ws)
    never = Agent.enroll(uuid4(), ws, "pap", "never", None, "h", "p", None, {})
    registry.save(never)
    assert expiring(credentials, ws) == []
    clock.now = T0 + timedelta(hours=24, seconds=1)
    assert expiring(credentials, ws) == [(agent_id, 23)]
    views.close()


@pytest.mark.parametrize("ending", ["revoke", "delete", "terminate"])
def test_expiring_tokens_leave_out_unusable_agents(
    registry: Registry, credentials: AgentCredentials, ws: str, ending: str
) -> None:
    kept, _ = register(registry, ws, "kept")
    gone, _ = register(registry, ws, "gone")
    agent = registry.load(gone)
    {
        "revoke": lambda: revoke_all_credentials(agent, "test"),
        "delete": agent.delete,
        "terminate": lambda: agent.terminate(T0),
    }[ending]()
    registry.save(agent)
    assert expiring(credentials, ws) == [(kept, 24)]


def test_expiring_tokens_are_per_workspace_and_follow_rotation(
    registry: Registry, credentials: AgentCredentials, ws: str, clock: Clock
) -> None:
    other = Workspaces(registry).create_workspace(CreateWorkspace(name="other"))[0].workspace_id
    register(registry, other)
    provisioned, _ = Enrollment(registry).provision_agent(
        ProvisionAgent(workspace_id=ws, client_type=ClientType.CURSOR, ttl_seconds=3600)
    )
    assert expiring(credentials, ws) == [(provisioned.agent_id, 1)]
    clock.now = T0 + timedelta(minutes=30)
    rotate(credentials, provisioned.agent_id, provisioned.token)
    assert expiring(credentials, ws) == [(provisioned.agent_id, 24)]
