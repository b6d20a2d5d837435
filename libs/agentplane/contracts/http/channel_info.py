"""`GET /v1/agent-channel`: how an agent reaches its hub → agent channel (see DESIGN §7)."""

from __future__ import annotations

from uuid import UUID

from pydantic import ConfigDict

from agentplane.contracts.http.base import CamelModel


class ChannelInfo(CamelModel):
    """Where and how the agent's channel connects; fields beyond these are kept as given."""

    model_config = CamelModel.model_config | ConfigDict(extra="allow")

    agent_id: UUID | None = None
    heartbeat_interval_seconds: float | None = None
