"""Seed 001, services and diagnostics (`/v1/services…`, workspace key)."""

from __future__ import annotations

from agentplane.contracts.http.base import Success
from agentplane.contracts.http.services import (
    Diagnostic,
    ExternalServiceBody,
    Protocol,
    ReachBody,
    ReachMode,
    ReachResult,
    RegisterServiceBody,
    Service,
    ServiceAnswer,
    ServiceCheck,
    SubdomainAvailability,
    UpdateServiceBody,
)
from agentplane.sdk.agents import AgentId
from agentplane.sdk.calls import Call, model, models, path
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced


class AsyncServices(Resource):
    """Services exposed by agents, external services, their checks and public access."""

    async def register(
        self,
        agent_id: AgentId,
        name: str,
        target_host: str,
        target_port: int,
        protocol: Protocol | str = Protocol.AUTO,
        is_public: bool = False,
        *,
        idempotency_key: str | None = None,
    ) -> ServiceAnswer:
        """Register a service an agent exposes; the answer names its hub `tunnel_port`."""
        body = RegisterServiceBody(
            agent_id=agent_id,
            name=name,
            target_host=target_host,
            target_port=target_port,
            protocol=Protocol(protocol),
            is_public=is_public,
        )
        return await self._t.send(
            Call(
                "POST",
                "/v1/services/register",
                model(ServiceAnswer),
                body=body,
                idempotency_key=idempotency_key,
            )
        )

    async def create_external(
        self,
        name: str,
        target_host: str,
        target_port: int,
        protocol: Protocol | str = Protocol.AUTO,
        *,
        idempotency_key: str | None = None,
    ) -> ServiceAnswer:
        """Register an external target (an initial health check runs at once)."""
        body = ExternalServiceBody(
            name=name, target_host=target_host, target_port=target_port, protocol=Protocol(protocol)
        )
        return await self._t.send(
            Call(
                "POST",
                "/v1/services/external",
                model(ServiceAnswer),
                body=body,
                idempotency_key=idempotency_key,
            )
        )

    async def list(self) -> list[Service]:
        """Every service of the workspace."""
        return await self._t.send(Call("GET", "/v1/services", models(Service)))

    async def get(self, service_id: str) -> Service:
        """One service with its last check."""
        return await self._t.send(Call("GET", path("/v1/services/{}", service_id), model(Service)))

    async def update(self, service_id: str, name: str) -> ServiceAnswer:
        """Rename a service (renaming twice to one name is renaming once)."""
        return await self._t.send(
            Call(
                "PATCH",
                path("/v1/services/{}", service_id),
                model(ServiceAnswer),
                body=UpdateServiceBody(name=name),
                idempotent=True,
            )
        )

    async def delete(self, service_id: str) -> Success:
        """Delete a service."""
        return await self._t.send(
            Call("DELETE", path("/v1/services/{}", service_id), model(Success))
        )

    async def check(self, service_id: str) -> ServiceCheck:
        """Run a diagnostic check from the hub now."""
        return await self._t.send(
            Call("POST", path("/v1/services/{}/check", service_id), model(ServiceCheck))
        )

    async def diagnostics(self, service_id: str, limit: int | None = None) -> list[Diagnostic]:
        """Diagnostic history, newest first (default 50)."""
        return await self._t.send(
            Call(
                "GET",
                path("/v1/services/{}/diagnostics", service_id),
                models(Diagnostic),
                params={"limit": limit},
            )
        )

    async def reach(
        self,
        service_id: str,
        source_agent_id: AgentId,
        mode: ReachMode | str = ReachMode.TCP,
        timeout_ms: int = 5000,
    ) -> ReachResult:
        """Check connectivity to the service from one agent (the agent does the check)."""
        body = ReachBody(
            source_agent_id=source_agent_id, mode=ReachMode(mode), timeout_ms=timeout_ms
        )
        return await self._t.send(
            Call("POST", path("/v1/services/{}/reach", service_id), model(ReachResult), body=body)
        )

    async def set_subdomain(self, service_id: str, subdomain: str | None) -> ServiceAnswer:
        """Set (or, with None, clear) the vanity subdomain; the server prefixes `pc-`."""
        return await self._t.send(
            Call(
                "PATCH",
                path("/v1/services/{}/subdomain", service_id),
                model(ServiceAnswer),
                # A mapping, not a model: None must travel as null (it clears the subdomain).
                body={"subdomain": subdomain},
                idempotent=True,
            )
        )

    async def check_subdomain(self, service_id: str, subdomain: str) -> SubdomainAvailability:
        """Whether a subdomain is valid and free."""
        return await self._t.send(
            Call(
                "GET",
                path("/v1/services/{}/subdomain/check", service_id),
                model(SubdomainAvailability),
                params={"subdomain": subdomain},
            )
        )


class Services(Resource):
    """Sync twin of `AsyncServices`."""

    register = synced(AsyncServices.register)
    create_external = synced(AsyncServices.create_external)
    list = synced(AsyncServices.list)
    get = synced(AsyncServices.get)
    update = synced(AsyncServices.update)
    delete = synced(AsyncServices.delete)
    check = synced(AsyncServices.check)
    diagnostics = synced(AsyncServices.diagnostics)
    reach = synced(AsyncServices.reach)
    set_subdomain = synced(AsyncServices.set_subdomain)
    check_subdomain = synced(AsyncServices.check_subdomain)
