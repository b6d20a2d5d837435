"""Wire model of a service's readiness answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Pong(BaseModel):
    """A service instance answering its ping subject."""

    model_config = ConfigDict(frozen=True)

    service: str
    instance: str
    ready: bool = True
