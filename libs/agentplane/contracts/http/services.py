"""Seed 001 services and diagnostics (`/v1/services…`): bodies and answers, as documented."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import Field

from agentplane.contracts.http.base import CamelModel

ServiceName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
Host = Annotated[str, Field(min_length=1, max_length=253)]
Port = Annotated[int, Field(ge=1, le=65535)]
Subdomain = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[a-z0-9-]+$")]


class Protocol(StrEnum):
    """How a service speaks; `auto` detects it from the port."""

    AUTO = "auto"
    TCP = "tcp"
    UDP = "udp"
    HTTP = "http"
    HTTPS = "https"


class ReachMode(StrEnum):
    """What a reach check tests."""

    TCP = "tcp"
    TLS = "tls"
    HTTP = "http"


class RegisterServiceBody(CamelModel):
    """`POST /v1/services/register`: a service an agent exposes."""

    agent_id: UUID
    name: ServiceName
    target_host: Host
    target_port: Port
    protocol: Protocol = Protocol.AUTO
    is_public: bool = False


class ExternalServiceBody(CamelModel):
    """`POST /v1/services/external`: a target not behind an agent (monitored from the hub)."""

    name: ServiceName
    target_host: Host
    target_port: Port
    protocol: Protocol = Protocol.AUTO


class UpdateServiceBody(CamelModel):
    """`PATCH /v1/services/{id}`."""

    name: ServiceName


class SubdomainBody(CamelModel):
    """`PATCH /v1/services/{id}/subdomain`: as written (3-32 of a-z, 0-9, -), or null."""

    subdomain: str | None = Field(max_length=100)


class ReachBody(CamelModel):
    """`POST /v1/services/{id}/reach`: a check from one agent's perspective."""

    source_agent_id: UUID
    mode: ReachMode = ReachMode.TCP
    timeout_ms: int = Field(default=5000, ge=1000, le=30000)


class Service(CamelModel):
    """A service as list, details and the write answers show it (fields as available)."""

    id: str
    name: str | None = None
    agent_id: UUID | None = None
    target_host: str | None = None
    target_port: int | None = None
    tunnel_port: int | None = None
    protocol: str | None = None
    status: str | None = None
    is_public: bool | None = None
    is_external: bool | None = None
    public_subdomain: str | None = None
    public_url: str | None = None
    last_check_at: datetime | None = None
    last_check_status: str | None = None
    created_at: datetime | None = None


class ServiceAnswer(CamelModel):
    """`{"success", "service"}`: register, external, update and subdomain answers."""

    success: bool
    service: Service


class Diagnostic(CamelModel):
    """One diagnostic: TCP, TLS and HTTP results from the hub or an agent."""

    id: str
    service_id: str | None = None
    tcp_status: str | None = None
    tcp_latency_ms: float | None = None
    tls_status: str | None = None
    http_status: str | None = None
    http_status_code: int | None = None
    http_latency_ms: float | None = None
    perspective: str | None = None
    source_agent: str | None = None
    timestamp: datetime | None = None


class ServiceCheck(CamelModel):
    """`POST /v1/services/{id}/check`."""

    success: bool
    diagnostic: Diagnostic
    service: Service


class DiagnosticSession(CamelModel):
    """The session a reach check belongs to."""

    id: str
    outcome: str | None = None


class ReachResult(CamelModel):
    """`POST /v1/services/{id}/reach`."""

    success: bool
    # None when the agent refused the request or sent no result in time (see the session).
    diagnostic: Diagnostic | None = None
    session: DiagnosticSession | None = None


class SubdomainAvailability(CamelModel):
    """`GET /v1/services/{id}/subdomain/check`."""

    available: bool
    valid: bool
    subdomain: str | None = None
    public_url: str | None = None
    error: str | None = None
