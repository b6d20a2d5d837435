"""The service catalog's rules without a network: protocol detection, subdomains, tunnel ports
(unique, freed on delete, a full range refused), names unique per workspace under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from agentplane.contracts.agents import ProvisionAgent
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.services import (
    CheckSubdomain,
    CreateExternalService,
    DeleteService,
    GetService,
    RegisterService,
    RenameService,
    ServiceProtocol,
    SetSubdomain,
)
from agentplane.contracts.tunnels import TunnelRoutesQuery
from agentplane.contracts.workspaces import CreateWorkspace
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.registry.application import Registry, RegistryStore
from agentplane.registry.catalog import Catalog
from agentplane.registry.domain.service import resolve_protocol, subdomain_problem
from agentplane.registry.enrollment import Enrollment
from agentplane.registry.workspaces import Workspaces


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(
        RegistryStore(allow_memory=True), SQLiteViewStore(tmp_path / "views.sqlite"), b"k" * 32
    )


def workspace(registry: Registry) -> str:
    created, _ = Workspaces(registry).create_workspace(
        CreateWorkspace(name=f"ws-{uuid4().hex[:8]}")
    )
    return created.workspace_id


def agent(registry: Registry, ws: str) -> Any:
    provisioned, _ = Enrollment(registry).provision_agent(
        ProvisionAgent(workspace_id=ws, client_type="cursor")  # type: ignore[arg-type]
    )
    return provisioned.agent_id


def error_of(call: Any) -> ServiceError:
    with pytest.raises(ServiceError) as err:
        call()
    return err.value


def test_protocol_detection_follows_the_document() -> None:
    auto = ServiceProtocol.AUTO
    assert {p: resolve_protocol(auto, p).value for p in (80, 8080, 3000, 5000)} == dict.fromkeys(
        (80, 8080, 3000, 5000), "http"
    )
    assert resolve_protocol(auto, 443) == resolve_protocol(auto, 8443) == ServiceProtocol.HTTPS
    for port in (5432, 3306, 27017, 6379, 22, 65535):
        assert resolve_protocol(auto, port) == ServiceProtocol.TCP
    assert resolve_protocol(ServiceProtocol.UDP, 80) == ServiceProtocol.UDP


def test_subdomain_rules() -> None:
    assert subdomain_problem("my-staging-api") is None
    for bad in ("ab", "x" * 33, "Upper", "a_b", "a.b", "-ab", "ab-", ""):
        assert subdomain_problem(bad), bad


def test_ports_unique_freed_on_delete_and_a_full_range_is_503(registry: Registry) -> None:
    catalog = Catalog(registry, range(40000, 40003), "example.test")
    ws = workspace(registry)
    owner = agent(registry, ws)

    def register(name: str) -> Any:
        cmd = RegisterService(workspace_id=ws, agent_id=owner, name=name, target_host="h",
                              target_port=5432)  # fmt: skip
        return catalog.register(cmd)[0]

    made = [register(f"s{n}") for n in range(3)]
    assert sorted(s.tunnel_port for s in made) == [40000, 40001, 40002]
    full = error_of(lambda: register("s3"))
    assert full.kind == ErrorKind.UNAVAILABLE and "40000-40002" in full.body.message
    catalog.delete(DeleteService(workspace_id=ws, service_id=made[1].id))
    assert register("s4").tunnel_port == 40001
    routes = catalog.routes(TunnelRoutesQuery())
    assert sorted(r.tunnel_port for r in routes.routes) == [40000, 40001, 40002]
    # External services take no port.
    external = catalog.create_external(
        CreateExternalService(workspace_id=ws, name="ext", target_host="h", target_port=443)
    )[0]
    assert external.tunnel_port is None and external.protocol == ServiceProtocol.HTTPS


def test_names_unique_per_workspace_even_when_registered_at_once(registry: Registry) -> None:
    catalog = Catalog(registry, range(40000, 40100), "example.test")
    ws, other = workspace(registry), workspace(registry)
    mine, theirs = agent(registry, ws), agent(registry, other)

    def attempt(n: int) -> str:
        cmd = RegisterService(workspace_id=ws, agent_id=mine, name="db", target_host="h",
                              target_port=5432 + n)  # fmt: skip
        try:
            return catalog.register(cmd)[0].id
        except ServiceError as exc:
            return exc.kind.value

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(16)))
    assert sum(o.startswith("svc_") for o in outcomes) == 1, outcomes
    assert set(outcomes) - {o for o in outcomes if o.startswith("svc_")} == {"conflict"}
    # Another workspace may use the name; this workspace's agent is not theirs.
    cmd = RegisterService(workspace_id=other, agent_id=theirs, name="db", target_host="h",
                          target_port=1)  # fmt: skip
    assert catalog.register(cmd)[0].name == "db"
    foreign = RegisterService(workspace_id=other, agent_id=mine, name="x", target_host="h",
                              target_port=1)  # fmt: skip
    assert error_of(lambda: catalog.register(foreign)).kind == ErrorKind.NOT_FOUND


def test_rename_and_subdomains(registry: Registry) -> None:
    catalog = Catalog(registry, range(40000, 40100), "example.test")
    ws, other = workspace(registry), workspace(registry)
    owner = agent(registry, ws)
    public = catalog.register(RegisterService(
        workspace_id=ws, agent_id=owner, name="web", target_host="h", target_port=80,
        is_public=True))[0]  # fmt: skip
    db = RegisterService(workspace_id=ws, agent_id=owner, name="db", target_host="h",
                         target_port=5432)  # fmt: skip
    private = catalog.register(db)[0]
    clash = RenameService(workspace_id=ws, service_id=private.id, name="web")
    assert error_of(lambda: catalog.rename(clash)).kind == ErrorKind.CONFLICT
    catalog.rename(RenameService(workspace_id=ws, service_id=public.id, name="site"))
    catalog.rename(RenameService(workspace_id=ws, service_id=private.id, name="web"))  # freed
    set_sub = SetSubdomain(workspace_id=ws, service_id=public.id, subdomain="my-site")
    assert catalog.set_subdomain(set_sub)[0].public_subdomain == "pc-my-site"
    check = CheckSubdomain(workspace_id=ws, service_id=public.id, subdomain="my-site")
    mine = catalog.check_subdomain(check)
    assert mine.available and mine.public_url == "https://pc-my-site.example.test"
    not_public = SetSubdomain(workspace_id=ws, service_id=private.id, subdomain="other")
    refused = error_of(lambda: catalog.set_subdomain(not_public))
    assert refused.kind == ErrorKind.VALIDATION and refused.body.details["field"] == "isPublic"
    # Taken across workspaces, free again once cleared.
    theirs = catalog.create_external(CreateExternalService(
        workspace_id=other, name="x", target_host="h", target_port=80))[0]  # fmt: skip
    taken = catalog.check_subdomain(
        CheckSubdomain(workspace_id=other, service_id=theirs.id, subdomain="my-site")
    )
    assert (taken.available, taken.valid, taken.error) == (
        False,
        True,
        "Subdomain is already taken",
    )
    catalog.set_subdomain(SetSubdomain(workspace_id=ws, service_id=public.id, subdomain=None))
    assert catalog.check_subdomain(
        CheckSubdomain(workspace_id=other, service_id=theirs.id, subdomain="my-site")
    ).available
    # Another workspace's service is not found.
    lookup = GetService(workspace_id=other, service_id=public.id)
    assert error_of(lambda: catalog.get(lookup)).kind == ErrorKind.NOT_FOUND
