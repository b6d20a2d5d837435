"""Redrive of parked messages: `agentplane events redrive` hands each back to its consumer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RedriveDeadLetter(BaseModel):
    """A parked message for the consumer that gave up on it (`Events.redrive(durable)`)."""

    model_config = ConfigDict(frozen=True)

    stream: str = Field(description="The stream the message was first delivered from")
    sequence: int = Field(ge=1, description="Its sequence there (the handler's idempotency key)")
    body: str = Field(description="The original message body, base64")


class Redriven(BaseModel):
    """The consumer's handler processed the message this time."""

    model_config = ConfigDict(frozen=True)

    durable: str
    sequence: int
