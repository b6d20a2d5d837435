"""Wire models of heartbeats and liveness."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class AgentBeat(BaseModel):
    """Seed 000 heartbeat: an agent id and its token."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    token: str = Field(max_length=512)


class BeatAccepted(BaseModel):
    """The heartbeat was authenticated and reset the agent's deadline."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    last_seen_at: datetime


class LivenessQuery(BaseModel):
    """Liveness of the given agents."""

    model_config = ConfigDict(frozen=True)

    agent_ids: list[UUID] = Field(max_length=100_000)


class AgentLiveness(BaseModel):
    """Whether an agent is online and when it was last heard from."""

    model_config = ConfigDict(frozen=True)

    online: bool
    last_seen_at: datetime | None = None


class LivenessReport(BaseModel):
    """Liveness by agent id (string form); agents never heard from are absent."""

    model_config = ConfigDict(frozen=True)

    agents: dict[str, AgentLiveness]
