"""Use cases of the service catalog (seed 001): register, external, read, rename, delete, and
public subdomains. Names (per workspace), tunnel ports and subdomains (system-wide) are held by
claims saved with the service, so concurrent requests and replicas cannot share one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

from agentplane.contracts.errors import conflict, invalid, not_found, unavailable
from agentplane.contracts.idempotency import Idempotency
from agentplane.contracts.services import (
    CheckSubdomain,
    CreateExternalService,
    DeleteService,
    GetService,
    ListServices,
    RegisterService,
    RenameService,
    ServiceRecord,
    SetSubdomain,
    SubdomainAvailability,
    public_url,
)
from agentplane.contracts.tunnels import TunnelRoutes, TunnelRoutesQuery
from agentplane.eventstore.paging import encoded_page, scan
from agentplane.registry.application import Registry
from agentplane.registry.catalog_projection import ROUTE, SERVICE, TUNNEL_PORT
from agentplane.registry.domain.catalog_claim import (
    SERVICE_NAME,
    SUBDOMAIN,
    CatalogClaim,
    ClaimTaken,
    claim_id,
    name_key,
)
from agentplane.registry.domain.catalog_claim import (
    TUNNEL_PORT as PORT_CLAIM,
)
from agentplane.registry.domain.service import (
    Service,
    aggregate_id,
    stored_subdomain,
    subdomain_problem,
)
from agentplane.registry.projections import AGENT

NOT_FOUND = "Service not found"
NAME_TAKEN = "A service with this name already exists in the workspace"
SUBDOMAIN_TAKEN = "Subdomain is already taken"
NOT_PUBLIC = "The service must have isPublic: true to get a public subdomain"


class Catalog:
    def __init__(self, registry: Registry, ports: range, public_domain: str) -> None:
        self.registry = registry
        self.ports = ports
        self.public_domain = public_domain

    # -- claims ------------------------------------------------------------------------------

    def _claim(self, kind: str, key: str, holder: str) -> CatalogClaim:
        """A claim on `key` for `holder` (to save with the service); ClaimTaken if held."""
        claim: CatalogClaim | None = self.registry.load(claim_id(kind, key))
        if claim is None:
            return CatalogClaim.take(kind, key, holder)
        claim.retake(holder)
        return claim

    def _released(self, kind: str, key: str, holder: str) -> list[CatalogClaim]:
        claim: CatalogClaim | None = self.registry.load(claim_id(kind, key))
        if claim is None:
            return []
        claim.release(holder)
        return [claim]

    def _free_port(self, tried: set[int]) -> int:
        with self.registry.views.read() as tx:
            taken = {int(key) for key, _ in tx.items(TUNNEL_PORT)}
        for port in self.ports:
            if port not in taken and port not in tried:
                return port
        raise unavailable(
            f"No free tunnel port: all {len(self.ports)} ports of AGENTPLANE_TUNNEL_PORTS "
            f"({self.ports.start}-{self.ports.stop - 1}) are taken"
        )

    def _retrying(
        self,
        attempt: Callable[[], tuple[Any, list[Any]]],
        idempotency: Idempotency | None = None,
    ) -> tuple[Any, int]:
        """Run `attempt` (answer, aggregates to save) until its save lands; with an
        Idempotency-Key, a retry gets the first answer (saved with the create)."""
        registry = self.registry

        def once() -> tuple[Any, list[Any]]:
            if (first := registry.replay(idempotency, ServiceRecord)) is not None:
                return first, []
            answer, aggregates = attempt()
            if not aggregates:
                return answer, []
            # Another request changed one of them (or used the key): the next round looks again.
            return answer, [*aggregates, *registry.answer_record(idempotency, answer)]

        return registry.update(
            once, lambda: unavailable("The catalog is being changed concurrently, try again")
        )

    # -- writes ------------------------------------------------------------------------------

    def register(self, cmd: RegisterService) -> tuple[ServiceRecord, int]:
        self.registry.workspace(cmd.workspace_id)
        with self.registry.views.read() as tx:
            agent = tx.get(AGENT, str(cmd.agent_id))
        if agent is None or agent["workspace_id"] != cmd.workspace_id or agent.get("deleted"):
            raise not_found("Agent not found", field="agentId")
        tried: set[int] = set()

        def attempt() -> tuple[ServiceRecord, list[Any]]:
            port = self._free_port(tried)
            tried.add(port)
            return self._create(cmd.workspace_id, cmd.agent_id, cmd, port)

        return self._retrying(attempt, cmd.idempotency)

    def create_external(self, cmd: CreateExternalService) -> tuple[ServiceRecord, int]:
        self.registry.workspace(cmd.workspace_id)
        return self._retrying(
            lambda: self._create(cmd.workspace_id, None, cmd, None), cmd.idempotency
        )

    def _create(
        self,
        workspace_id: str,
        agent_id: Any,
        cmd: RegisterService | CreateExternalService,
        port: int | None,
    ) -> tuple[ServiceRecord, list[Any]]:
        service = Service.register(
            uuid4(), workspace_id, agent_id, cmd.name, cmd.target_host, cmd.target_port,
            cmd.protocol, port, getattr(cmd, "is_public", False),
        )  # fmt: skip
        try:
            claims = [
                self._claim(SERVICE_NAME, name_key(workspace_id, cmd.name), service.service_id)
            ]
        except ClaimTaken:
            raise conflict(NAME_TAKEN, field="name") from None
        if port is not None:
            try:
                claims.append(self._claim(PORT_CLAIM, str(port), service.service_id))
            except ClaimTaken:
                return self._create(workspace_id, agent_id, cmd, self._free_port({port}))
        return record_of(service), [service, *claims]

    def _service(self, workspace_id: str, service_id: str) -> Service:
        uuid = aggregate_id(service_id)
        if uuid is None:
            raise not_found(NOT_FOUND)
        service: Service | None = self.registry.load(uuid)
        if service is None or service.workspace_id != workspace_id or service.deleted:
            raise not_found(NOT_FOUND)
        return service

    def rename(self, cmd: RenameService) -> tuple[ServiceRecord, int]:
        def attempt() -> tuple[ServiceRecord, list[Any]]:
            service = self._service(cmd.workspace_id, cmd.service_id)
            if service.name == cmd.name:
                return record_of(service), []
            old = service.name
            try:
                claim = self._claim(
                    SERVICE_NAME, name_key(cmd.workspace_id, cmd.name), service.service_id
                )
            except ClaimTaken:
                raise conflict(NAME_TAKEN, field="name") from None
            service.rename(cmd.name)
            released = self._released(
                SERVICE_NAME, name_key(cmd.workspace_id, old), service.service_id
            )
            return record_of(service), [service, claim, *released]

        return self._retrying(attempt)

    def delete(self, cmd: DeleteService) -> tuple[ServiceRecord, int]:
        def attempt() -> tuple[ServiceRecord, list[Any]]:
            service = self._service(cmd.workspace_id, cmd.service_id)
            service.delete()
            holder = service.service_id
            released = self._released(SERVICE_NAME, name_key(service.workspace_id, service.name),
                                      holder)  # fmt: skip
            if service.tunnel_port is not None:
                released += self._released(PORT_CLAIM, str(service.tunnel_port), holder)
            if service.public_subdomain:
                released += self._released(SUBDOMAIN, service.public_subdomain, holder)
            return record_of(service), [service, *released]

        return self._retrying(attempt)

    def set_subdomain(self, cmd: SetSubdomain) -> tuple[ServiceRecord, int]:
        wanted: str | None = None
        if cmd.subdomain is not None:
            problem = subdomain_problem(cmd.subdomain)
            if problem:
                raise invalid(problem, field="subdomain")
            wanted = stored_subdomain(cmd.subdomain)

        def attempt() -> tuple[ServiceRecord, list[Any]]:
            service = self._service(cmd.workspace_id, cmd.service_id)
            if not service.is_public and wanted is not None:
                raise invalid(NOT_PUBLIC, field="isPublic")
            if service.public_subdomain == wanted:
                return record_of(service), []
            holder, old = service.service_id, service.public_subdomain
            claims: list[Any] = []
            if wanted is not None:
                try:
                    claims.append(self._claim(SUBDOMAIN, wanted, holder))
                except ClaimTaken:
                    raise conflict(SUBDOMAIN_TAKEN, field="subdomain") from None
            if old is not None:
                claims += self._released(SUBDOMAIN, old, holder)
            service.set_subdomain(wanted)
            return record_of(service), [service, *claims]

        return self._retrying(attempt)

    # -- reads -------------------------------------------------------------------------------

    def check_subdomain(self, query: CheckSubdomain) -> SubdomainAvailability:
        service = self._service(query.workspace_id, query.service_id)
        problem = subdomain_problem(query.subdomain)
        if problem:
            return SubdomainAvailability(available=False, valid=False, error=problem)
        stored = stored_subdomain(query.subdomain)
        claim: CatalogClaim | None = self.registry.load(
            claim_id(SUBDOMAIN, stored), to_change=False
        )
        holder = claim.holder if claim is not None else None
        if holder is not None and holder != service.service_id:
            return SubdomainAvailability(available=False, valid=True, error=SUBDOMAIN_TAKEN)
        return SubdomainAvailability(
            available=True, valid=True, subdomain=stored,
            public_url=public_url(stored, self.public_domain),
        )  # fmt: skip

    def get(self, query: GetService) -> ServiceRecord:
        with self.registry.views.read() as tx:
            doc = tx.get(SERVICE, query.service_id)
        if doc is None or doc["workspace_id"] != query.workspace_id:
            raise not_found(NOT_FOUND)
        return ServiceRecord.model_validate(doc)

    def list_encoded(self, query: ListServices) -> bytes:
        """A page of the workspace's services, oldest first, spliced from the stored JSON."""
        wanted = str(query.agent_id) if query.agent_id else None
        keep = (lambda doc: doc.get("agent_id") == wanted) if wanted else None
        with self.registry.views.read() as tx:
            page = scan(
                tx, SERVICE, query.workspace_id, after=query.after, limit=query.limit,
                max_bytes=self.registry.reply_budget, keep=keep,
            )  # fmt: skip
        return encoded_page("services", page.texts, page.next_after)

    def routes(self, query: TunnelRoutesQuery) -> TunnelRoutes:
        with self.registry.views.read() as tx:
            page = scan(
                tx, ROUTE, "", after=query.after, limit=query.limit,
                max_bytes=self.registry.reply_budget,
            )  # fmt: skip
        return TunnelRoutes.model_validate_json(encoded_page("routes", page.texts, page.next_after))


def record_of(service: Service) -> ServiceRecord:
    return ServiceRecord(
        id=service.service_id,
        workspace_id=service.workspace_id,
        agent_id=service.agent_id,  # type: ignore[arg-type]
        name=service.name,
        target_host=service.target_host,
        target_port=service.target_port,
        tunnel_port=service.tunnel_port,
        protocol=service.protocol,  # type: ignore[arg-type]
        is_public=service.is_public,
        is_external=service.is_external,
        public_subdomain=service.public_subdomain,
        created_at=service.created_on,
    )
