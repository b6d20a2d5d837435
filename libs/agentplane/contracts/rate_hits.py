"""What one gateway replica tells the others about the requests it admitted (rate limits)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RateHits(BaseModel):
    """Requests admitted per limit key (`ws:<id>`, `agent:<id>`, `authfail:<address>`)."""

    origin: str = Field(description="The replica that admitted them; it ignores its own batch")
    hits: dict[str, int]
    # Unix time of the batch's first admission: receivers count the batch from then, not from
    # when it arrived (a busy receiver would otherwise keep it in its windows too long).
    at: float
