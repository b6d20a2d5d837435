"""Paging of collection queries: no request or reply on the bus grows with the fleet.

A query asks for at most `limit` items after the opaque position `after` (None: from the
start); the answer carries `next_after`, None on the last page. A service may answer fewer
than `limit` items (its reply must fit one NATS message) and still have more: only
`next_after` None ends the collection. HTTP carries the same position, base64url-encoded,
as the `cursor` query parameter and the `X-Next-Cursor` response header.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

PAGE_DEFAULT = 1000
PAGE_MAX = 5000
MAX_AFTER = 1000


class PageQuery(BaseModel):
    """The paging fields every collection query has."""

    model_config = ConfigDict(frozen=True)

    after: str | None = Field(default=None, max_length=MAX_AFTER)
    limit: int = Field(default=PAGE_DEFAULT, ge=1, le=PAGE_MAX)
