"""Wire models of the service catalog (seed 001): services agents expose or external targets,
their tunnel ports and public subdomains. Answered by the registry (`Registry.SERVICE_*`).

Catalog changes are recorded as `service.*` events (integration event `data` fields below), which
the edge (routes) and diagnostics (what to check) follow:
- `service.Registered`: service_id, workspace_id, agent_id (None for external), name,
  target_host, target_port, protocol (resolved), tunnel_port (None for external), is_public,
  is_external, public_subdomain (None)
- `service.Renamed`: service_id, workspace_id, name
- `service.SubdomainChanged`: service_id, workspace_id, public_subdomain (stored form or None)
- `service.Deleted`: service_id, workspace_id, agent_id, tunnel_port
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.idempotency import Idempotency
from agentplane.contracts.paging import PageQuery

SERVICE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"
MAX_TARGET_HOST = 253
# A subdomain as the caller writes it; stored and shown with SUBDOMAIN_PREFIX.
SUBDOMAIN_PATTERN = r"^[a-z0-9-]{3,32}$"
SUBDOMAIN_PREFIX = "pc-"


class ServiceProtocol(StrEnum):
    """What a registration may ask for; `auto` is resolved by port before anything stores it."""

    AUTO = "auto"
    TCP = "tcp"
    UDP = "udp"
    HTTP = "http"
    HTTPS = "https"


class ServiceRecord(BaseModel):
    """One catalog entry as the registry holds it (health lives in diagnostics)."""

    model_config = ConfigDict(frozen=True)

    id: str  # "svc_<hex>"
    workspace_id: str
    agent_id: UUID | None  # None for an external service
    name: str
    target_host: str
    target_port: int
    tunnel_port: int | None  # None for an external service
    protocol: ServiceProtocol  # resolved: never AUTO
    is_public: bool
    is_external: bool
    public_subdomain: str | None  # stored form, "pc-…"
    created_at: datetime


class RegisterService(BaseModel):
    """Seed 001 register: an agent of the workspace exposes `target_host:target_port`."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    name: str = Field(pattern=SERVICE_NAME_PATTERN)
    target_host: str = Field(min_length=1, max_length=MAX_TARGET_HOST)
    target_port: int = Field(ge=1, le=65535)
    protocol: ServiceProtocol = ServiceProtocol.AUTO
    is_public: bool = False
    # A retry with the same Idempotency-Key gets the first answer, never a second service.
    idempotency: Idempotency | None = None


class CreateExternalService(BaseModel):
    """Seed 001 external: a target no agent exposes (checked from the hub only)."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    name: str = Field(pattern=SERVICE_NAME_PATTERN)
    target_host: str = Field(min_length=1, max_length=MAX_TARGET_HOST)
    target_port: int = Field(ge=1, le=65535)
    protocol: ServiceProtocol = ServiceProtocol.AUTO
    idempotency: Idempotency | None = None


class GetService(BaseModel):
    """One service of the workspace (NOT_FOUND for another workspace's)."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    service_id: str


class ListServices(PageQuery):
    """A page of the workspace's services, oldest first; `agent_id` narrows to one agent's."""

    workspace_id: str
    agent_id: UUID | None = None


class ServiceList(BaseModel):
    """A page of services; `next_after` None on the last page."""

    model_config = ConfigDict(frozen=True)

    services: list[ServiceRecord]
    next_after: str | None = None


class RenameService(BaseModel):
    """Seed 001 PATCH: a new name, unique in the workspace."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    service_id: str
    name: str = Field(pattern=SERVICE_NAME_PATTERN)


class DeleteService(BaseModel):
    """Remove a service; its tunnel port and subdomain become free."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    service_id: str


class SetSubdomain(BaseModel):
    """Seed 001 PATCH …/subdomain: `subdomain` as written (without the prefix) or None."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    service_id: str
    subdomain: str | None = Field(default=None, max_length=100)


class CheckSubdomain(BaseModel):
    """Seed 001 GET …/subdomain/check."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    service_id: str
    subdomain: str = Field(max_length=100)


class SubdomainAvailability(BaseModel):
    """The answer of a subdomain check, fields as the document shows them."""

    model_config = ConfigDict(frozen=True)

    available: bool
    valid: bool
    subdomain: str | None = None  # stored form
    public_url: str | None = None
    error: str | None = None


def public_url(stored_subdomain: str | None, domain: str) -> str | None:
    """Seed 001: `https://pc-<subdomain>.<AGENTPLANE_PUBLIC_DOMAIN>`."""
    return f"https://{stored_subdomain}.{domain}" if stored_subdomain else None
