"""`GET /v1/agent-channel`: how an agent reaches its hub → agent channel (see DESIGN §7)."""

from __future__ import annotations

from uuid import UUID

from agentplane.contracts.http.base import CamelModel


class ChannelInfo(CamelModel):
    """Where the agent's channel connects, which subjects are its own, and its beat interval."""

    agent_id: UUID
    # NATS: user = agent id, password = the agent's own credential.
    nats_urls: list[str]
    nats_websocket_url: str | None = None
    # The same hub → agent messages over a WebSocket of the gateway, for HTTP-only agents.
    http_channel_url: str
    inbox_subject: str
    reply_inbox_prefix: str
    publish_prefix: str
    heartbeat_interval_seconds: float
