"""The seam between the service catalog (registry) and the edge (data plane): which tunnel port
and which public subdomain lead to which agent's target, and the channel message that asks an
agent to dial back for one visitor connection."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.subjects import PREFIX


class Tunnels:
    """Subjects of the tunnel routing table (answered by the registry, queue group `registry`)."""

    # TunnelRoutesQuery → TunnelRoutes: every route (the edge loads them at start and again on
    # any integration event whose type starts with "service.", and every few seconds).
    ROUTES = f"{PREFIX}.registry.tunnel.routes"


class TunnelRoute(BaseModel):
    """One agent-exposed service as the edge sees it: listen on `tunnel_port`, dial the agent."""

    model_config = ConfigDict(frozen=True)

    service_id: str
    workspace_id: UUID
    agent_id: UUID
    tunnel_port: int = Field(ge=1, le=65535)
    target_host: str = Field(max_length=253)
    target_port: int = Field(ge=1, le=65535)
    protocol: str  # the resolved protocol: tcp | udp | http | https
    is_public: bool = False
    public_subdomain: str | None = None  # stored form, with the "pc-" prefix


class TunnelRoutesQuery(BaseModel):
    """Ask for the routing table; `after`/`limit` page it so no reply grows with the fleet."""

    model_config = ConfigDict(frozen=True)

    after: str | None = None  # the last service_id of the previous page
    limit: int = Field(default=1000, ge=1, le=5000)


class TunnelRoutes(BaseModel):
    """One page of the routing table; `next_after` is None on the last page."""

    model_config = ConfigDict(frozen=True)

    routes: list[TunnelRoute]
    next_after: str | None = None


class TunnelOpenBody(BaseModel):
    """Hub → agent (`HubKind.TUNNEL_OPEN`): dial the edge's data port for one visitor connection.

    The agent connects with TLS (internal CA) to `edge_host:edge_port`, presents `stream_token`
    (one-time, short-lived), then connects to the target its service registration names — never
    an address taken from this message alone (the agent checks it against its allow list).
    """

    model_config = ConfigDict(frozen=True)

    stream_id: str = Field(min_length=1, max_length=100)
    stream_token: str = Field(min_length=16, max_length=200)
    service_id: str
    edge_host: str
    edge_port: int = Field(ge=1, le=65535)
    target_host: str = Field(max_length=253)
    target_port: int = Field(ge=1, le=65535)
