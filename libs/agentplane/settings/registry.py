"""Settings of the registry (workspaces, agents and their credentials, the catalog)."""

from __future__ import annotations

from pydantic import Field

from agentplane.settings.addresses import Addresses
from agentplane.settings.cadence import HeartbeatCadence


class RegistrySettings(HeartbeatCadence, Addresses):
    """What the registry reads."""

    # The registry answers the NATS auth callout as the callout user, signs agents' user JWTs
    # with the issuer account seed, and closes revoked agents' connections as the system user
    # (external NATS only; generated into the data dir with the embedded one).
    nats_callout_password: str | None = None
    nats_system_password: str | None = None
    nats_issuer_seed: str | None = None

    agent_token_ttl_seconds: int = 86400
    # Seed 003: after a rotated API key is delivered, the old key works until the new one is
    # first used or this many seconds have passed.
    device_key_grace_seconds: float = 60.0
    # Seed 002 orchestrator agents: lifetimes of the bearer JWT and of the client certificate
    # (renewed through heartbeats within the last `renew_before`), and the config they get.
    orchestrator_jwt_ttl_seconds: int = Field(default=86400, ge=60)
    orchestrator_cert_ttl_seconds: int = Field(default=86400, ge=300)
    orchestrator_cert_renew_before_seconds: int = Field(default=3600, ge=60)
    orchestrator_task_poll_interval_seconds: int = Field(default=5, ge=1)
    orchestrator_log_level: str = "info"
    # The range the registry allocates service tunnel ports from ("first-last").
    tunnel_ports: str = Field(default="50000-50999", pattern=r"^\d{1,5}-\d{1,5}$")

    @property
    def tunnel_port_range(self) -> range:
        first, last = (int(n) for n in self.tunnel_ports.split("-"))
        if not 1 <= first <= last <= 65535:
            raise ValueError(f"AGENTPLANE_TUNNEL_PORTS {self.tunnel_ports!r} is not a port range")
        return range(first, last + 1)
