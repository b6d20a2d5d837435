"""A catalog service (seed 001): an agent's exposed target or an external one, with its tunnel
port and public subdomain. Rules of the document that need no I/O live here too."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from agentplane.contracts.services import SUBDOMAIN_PATTERN, SUBDOMAIN_PREFIX, ServiceProtocol

PREFIX = "svc_"

# Seed 001 "Protocol Detection": these ports are HTTP(S); every other port is TCP.
_HTTP_PORTS = frozenset({80, 8080, 3000, 5000})
_HTTPS_PORTS = frozenset({443, 8443})
_SUBDOMAIN = re.compile(SUBDOMAIN_PATTERN)


def resolve_protocol(protocol: ServiceProtocol, port: int) -> ServiceProtocol:
    if protocol != ServiceProtocol.AUTO:
        return protocol
    if port in _HTTP_PORTS:
        return ServiceProtocol.HTTP
    if port in _HTTPS_PORTS:
        return ServiceProtocol.HTTPS
    return ServiceProtocol.TCP


def subdomain_problem(subdomain: str) -> str | None:
    """Why a subdomain as written cannot be used, or None."""
    if not _SUBDOMAIN.fullmatch(subdomain):
        return "Subdomain must be 3-32 characters: lowercase letters, digits and hyphens"
    if subdomain.startswith("-") or subdomain.endswith("-"):
        return "Subdomain must not start or end with a hyphen"
    return None


def stored_subdomain(subdomain: str) -> str:
    """Stored and shown with the prefix (seed 001: automatically prefixed with `pc-`)."""
    return f"{SUBDOMAIN_PREFIX}{subdomain}"


def public_id(aggregate_id: UUID) -> str:
    return f"{PREFIX}{aggregate_id.hex}"


def aggregate_id(service_id: str) -> UUID | None:
    """The aggregate behind `svc_<hex>`, or None for anything else."""
    if not service_id.startswith(PREFIX):
        return None
    try:
        return UUID(hex=service_id[len(PREFIX) :])
    except ValueError:
        return None


class Service(Aggregate):
    """One catalog entry; every event names its workspace (and agent, for audit)."""

    TOPIC = "registry.Service"

    class Event(Aggregate.Event):
        AGENT_FIELD = "agent_id"

    class Created(Event, Aggregate.Created):
        # Never recorded (services start as Registered); eventsourcing asks for a topic.
        TOPIC = "service.Created"

    class Registered(Event, Aggregate.Created):
        TOPIC = "service.Registered"
        service_id: str
        workspace_id: str
        agent_id: str | None
        name: str
        target_host: str
        target_port: int
        protocol: str
        tunnel_port: int | None
        is_public: bool
        is_external: bool
        public_subdomain: str | None

    class Renamed(Event):
        TOPIC = "service.Renamed"
        service_id: str
        workspace_id: str
        agent_id: str | None
        name: str

        def apply(self, aggregate: Aggregate) -> None:
            aggregate.name = self.name  # type: ignore[attr-defined]

    class SubdomainChanged(Event):
        TOPIC = "service.SubdomainChanged"
        service_id: str
        workspace_id: str
        agent_id: str | None
        public_subdomain: str | None

        def apply(self, aggregate: Aggregate) -> None:
            aggregate.public_subdomain = self.public_subdomain  # type: ignore[attr-defined]

    class Deleted(Event):
        TOPIC = "service.Deleted"
        service_id: str
        workspace_id: str
        agent_id: str | None
        tunnel_port: int | None

        def apply(self, aggregate: Aggregate) -> None:
            aggregate.deleted = True  # type: ignore[attr-defined]

    def __init__(
        self,
        service_id: str,
        workspace_id: str,
        agent_id: str | None,
        name: str,
        target_host: str,
        target_port: int,
        protocol: str,
        tunnel_port: int | None,
        is_public: bool,
        is_external: bool,
        public_subdomain: str | None,
    ) -> None:
        self.service_id = service_id
        self.workspace_id = workspace_id
        self.agent_id = agent_id
        self.name = name
        self.target_host = target_host
        self.target_port = target_port
        self.protocol = protocol
        self.tunnel_port = tunnel_port
        self.is_public = is_public
        self.is_external = is_external
        self.public_subdomain = public_subdomain
        self.deleted = False

    @property
    def created_at(self) -> datetime:
        return self.created_on

    @classmethod
    def register(
        cls,
        uuid: UUID,
        workspace_id: str,
        agent_id: UUID | None,
        name: str,
        target_host: str,
        target_port: int,
        protocol: ServiceProtocol,
        tunnel_port: int | None,
        is_public: bool,
    ) -> Service:
        return cls._create(
            cls.Registered,
            id=uuid,
            service_id=public_id(uuid),
            workspace_id=workspace_id,
            agent_id=str(agent_id) if agent_id else None,
            name=name,
            target_host=target_host,
            target_port=target_port,
            protocol=resolve_protocol(protocol, target_port).value,
            tunnel_port=tunnel_port,
            is_public=is_public,
            is_external=agent_id is None,
            public_subdomain=None,
        )

    def _fields(self) -> dict[str, str | None]:
        return {
            "service_id": self.service_id,
            "workspace_id": self.workspace_id,
            "agent_id": self.agent_id,
        }

    def rename(self, name: str) -> None:
        if name != self.name:
            self.trigger_event(self.Renamed, name=name, **self._fields())

    def set_subdomain(self, subdomain: str | None) -> None:
        if subdomain != self.public_subdomain:
            self.trigger_event(self.SubdomainChanged, public_subdomain=subdomain, **self._fields())

    def delete(self) -> None:
        if not self.deleted:
            self.trigger_event(self.Deleted, tunnel_port=self.tunnel_port, **self._fields())
