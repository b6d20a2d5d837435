"""Where the system listens and the names it answers to: read by more than one service."""

from __future__ import annotations

from agentplane.settings.shared import SharedSettings


class Addresses(SharedSettings):
    """The gateway's HTTP address (the gateway; the local provisioner's default gateway URL),
    the tunnel listeners' host (edge; diagnostics checks through it) and the domains."""

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    tunnel_host: str = "127.0.0.1"
    # The edge routes `pc-<subdomain>.<public_domain>`; the registry hands the names out.
    public_domain: str = "localhost"
    # Seed 004: PAP agents are reachable as `{name}.{agent_domain}` (plugged.in uses
    # is.plugged.in); a local default that resolves nowhere public.
    agent_domain: str = "agents.local"
