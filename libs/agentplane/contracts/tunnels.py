"""The seam between the service catalog (registry) and the edge (data plane): which tunnel port
and which public subdomain lead to which agent's target, the channel message that asks an
agent to dial back for one visitor connection, and the first bytes of that data connection.

Tunnels carry TCP only: a UDP service gets a tunnel port in the catalog but the edge opens no
listener for it (its checks are reach-only).
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.subjects import PREFIX


class Tunnels:
    """Subjects of the tunnel routing table (answered by the registry, queue group `registry`)."""

    # TunnelRoutesQuery → TunnelRoutes: every route (the edge loads them at start and again on
    # any integration event whose type starts with "service.", and every few seconds).
    ROUTES = f"{PREFIX}.registry.tunnel.routes"
    # Integration event types (their `type`) after which the edge reloads its routes.
    ROUTE_EVENT_PREFIX = "service."
    # Integration event types after which an agent's open streams are closed at once: it is
    # gone (deleted, terminated) or its heartbeats stopped.
    AGENT_GONE_EVENTS = ("agent.Deleted", "agent.Terminated", "liveness.WentOffline")


class TunnelRoute(BaseModel):
    """One agent-exposed service as the edge sees it: listen on `tunnel_port`, dial the agent."""

    model_config = ConfigDict(frozen=True)

    service_id: str
    workspace_id: str  # as the registry names workspaces ("ws_…")
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
    # False only when the edge is on this agent's loopback and allows plain TCP there
    # (`AGENTPLANE_EDGE_DATA_TLS=off-loopback`); the agent never sends plain TCP off loopback.
    tls: bool = True
    # The internal CA that issued the data port's certificate (verified with `edge_host` as
    # the server name); the channel that carries this message is itself authenticated.
    edge_ca_pem: str | None = Field(default=None, max_length=8192)


# The first bytes of a data connection (inside TLS when `tls`): MAGIC, a 2-byte big-endian
# length, then that many bytes of a JSON `TunnelStreamHello`. A fixed-length frame, so
# neither side reads past it: what follows is the stream's payload.
STREAM_MAGIC = b"APT1"
MAX_STREAM_HELLO_BYTES = 2048


class TunnelStreamHello(BaseModel):
    """Agent → edge, first on a data connection: which stream this is, and whether the agent
    reached the target (`ok: false` lets the edge close the visitor at once, with the reason)."""

    model_config = ConfigDict(frozen=True)

    stream_id: str = Field(min_length=1, max_length=100)
    stream_token: str = Field(min_length=16, max_length=200)
    ok: bool = True
    error: str | None = Field(default=None, max_length=500)
