"""What one gateway replica tells the others about the requests it admitted (rate limits)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RateHits(BaseModel):
    """Requests admitted per limit key (`ws:<id>`, `agent:<id>`, `authfail:<address>`)."""

    origin: str = Field(description="The replica that admitted them; it ignores its own batch")
    hits: dict[str, int]
