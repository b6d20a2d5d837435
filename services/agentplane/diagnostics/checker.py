"""A hub check of one catalog service: where the bytes go (the agent's tunnel port on the edge,
or an external target itself) and which steps apply (by the service's protocol)."""

from __future__ import annotations

from pathlib import Path

from agentplane.contracts.errors import invalid
from agentplane.contracts.services import ServiceProtocol, ServiceRecord
from agentplane.probes.connectivity import ProbeResult, ProbeTarget, probe

_WILDCARDS = {"0.0.0.0", "::", ""}
UDP_REFUSED = (
    "UDP services have no hub check: tunnels and hub checks are TCP-only; "
    "use a reach check from an agent"
)


class HubChecker:
    def __init__(self, tunnel_host: str, timeout: float, ca_file: Path | None) -> None:
        # The edge listens on `tunnel_host`; a wildcard is reached on loopback from here.
        self.tunnel_host = "127.0.0.1" if tunnel_host in _WILDCARDS else tunnel_host
        self.timeout = timeout
        self.ca_file = str(ca_file) if ca_file else None

    def target(self, service: ServiceRecord) -> ProbeTarget:
        if service.protocol == ServiceProtocol.UDP:
            raise invalid(UDP_REFUSED)
        through_tunnel = not service.is_external and service.tunnel_port is not None
        return ProbeTarget(
            connect_host=self.tunnel_host if through_tunnel else service.target_host,
            connect_port=service.tunnel_port if through_tunnel else service.target_port,  # type: ignore[arg-type]
            server_name=service.target_host,
            server_port=service.target_port,
            tls=service.protocol == ServiceProtocol.HTTPS,
            http=service.protocol in (ServiceProtocol.HTTP, ServiceProtocol.HTTPS),
            ca_file=self.ca_file,
        )

    async def check(self, service: ServiceRecord) -> ProbeResult:
        return await probe(self.target(service), self.timeout)
