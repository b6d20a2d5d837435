"""`GET /health`: the gateway's readiness (200 only when NATS and every service answer)."""

from __future__ import annotations

from pydantic import Field

from agentplane.contracts.http.base import SnakeModel


class GatewayHealth(SnakeModel):
    """NATS and each service: "ok" or "down"; `missing` lists what is down."""

    status: str
    nats: str
    services: dict[str, str] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)
