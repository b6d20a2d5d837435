"""The integration event envelope: the public, stable form of every recorded domain event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class IntegrationEvent(BaseModel):
    """One recorded event as published on `ap.events.<app>.<type>`; secrets never included."""

    model_config = ConfigDict(frozen=True)

    id: str  # "<app>:<notification id>", also the Nats-Msg-Id
    app: str
    position: int
    type: str  # stable event topic, e.g. "agent.Registered"
    version: int = 1  # of `data`'s schema for this type (`PublicEvent.VERSION`); absent means 1
    aggregate_id: str
    aggregate_version: int
    occurred_at: datetime
    workspace_id: str | None = None
    agent_id: str | None = None
    # The typed `PublicEvent` of `type` at `version` as JSON (`EVENT_TYPES.parse` reads it).
    data: dict[str, Any]
