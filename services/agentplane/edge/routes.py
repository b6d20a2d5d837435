"""The routing table the edge serves: the registry's `Tunnels.ROUTES`, loaded page by page."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from agentplane.bus.requests import BusClient
from agentplane.contracts.tunnels import TunnelRoute, TunnelRoutes, TunnelRoutesQuery, Tunnels

log = logging.getLogger("agentplane.edge.routes")

PAGE = 1000
# Protocols a TCP listener can carry (tunnels are TCP-only; UDP services get no listener).
TCP_PROTOCOLS = frozenset({"tcp", "http", "https"})


@dataclass(frozen=True)
class RouteTable:
    """Routes by tunnel port, and public routes by their stored subdomain (`pc-…`)."""

    by_port: dict[int, TunnelRoute] = field(default_factory=dict)
    by_subdomain: dict[str, TunnelRoute] = field(default_factory=dict)

    @classmethod
    def of(cls, routes: list[TunnelRoute]) -> RouteTable:
        by_port: dict[int, TunnelRoute] = {}
        by_subdomain: dict[str, TunnelRoute] = {}
        for route in routes:
            if route.protocol not in TCP_PROTOCOLS:
                continue
            if route.tunnel_port in by_port:
                log.warning("tunnel port %d named twice; keeping %s", route.tunnel_port,
                            by_port[route.tunnel_port].service_id)  # fmt: skip
                continue
            by_port[route.tunnel_port] = route
            if route.is_public and route.public_subdomain:
                by_subdomain[route.public_subdomain.lower()] = route
        return cls(by_port, by_subdomain)

    def public(self, subdomain: str) -> TunnelRoute | None:
        route = self.by_subdomain.get(subdomain.lower())
        return route if route is not None and route.is_public else None


async def load_routes(bus: BusClient) -> RouteTable:
    """Every route, in pages (a ServiceError when the registry does not answer)."""
    routes: list[TunnelRoute] = []
    after: str | None = None
    while True:
        data = await bus.request(Tunnels.ROUTES, TunnelRoutesQuery(after=after, limit=PAGE))
        page = TunnelRoutes.model_validate(data)
        routes.extend(page.routes)
        if page.next_after is None or not page.routes:
            return RouteTable.of(routes)
        after = page.next_after
