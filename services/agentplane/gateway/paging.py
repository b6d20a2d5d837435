"""Collections over HTTP: the whole array streamed page by page, or one page with a cursor.

Every collection endpoint of the gateway answers the same two ways:
- without `limit` and `cursor` (what the seed documents show): the whole collection as one
  JSON array (or `{"<field>": [...]}`), fetched from its service one page at a time (the
  next page is requested while the previous one is sent) and streamed, so neither a NATS
  reply nor the gateway's memory grows with the fleet;
- with `limit` and/or `cursor`: one page of at most `limit` items (fewer when a filter or the
  service's reply size cut it short), and the next page's cursor in `X-Next-Cursor` (absent on
  the last page). The cursor is opaque: the service's `next_after`, base64url-encoded.

How an endpoint adopts it: write `fetch(after, limit) -> (items, next_after)` that asks the
service for one page (a `contracts.paging.PageQuery`) and maps it to JSON-ready items, then
`return await collection(fetch, limit, cursor, field="agents")` from the route, with
`limit: Limit = None, cursor: Cursor = None` parameters and `responses=paged_responses(…)`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from agentplane.contracts.errors import invalid
from agentplane.contracts.paging import MAX_AFTER, PAGE_DEFAULT, PAGE_MAX

log = logging.getLogger("agentplane.gateway.paging")

NEXT_CURSOR = "X-Next-Cursor"
Item = dict[str, Any]
Fetch = Callable[[str | None, int], Awaitable[tuple[list[Item], str | None]]]

Limit = Annotated[
    int | None,
    Query(
        ge=1,
        le=PAGE_MAX,
        description=(
            "Return one page of at most this many items (default without it: the whole "
            f"collection; with only `cursor`: {PAGE_DEFAULT}); the next page's cursor is in "
            "the X-Next-Cursor header"
        ),
    ),
]
Cursor = Annotated[
    str | None,
    Query(
        max_length=2 * MAX_AFTER,
        description="Continue after the page whose X-Next-Cursor header gave this value",
    ),
]


def encode_cursor(after: str | None) -> str | None:
    if after is None:
        return None
    return base64.urlsafe_b64encode(after.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid("Invalid cursor", field="cursor") from None


def paged_responses(description: str, field: str | None = None) -> dict[int | str, Any]:
    """The OpenAPI `responses` entry of a collection's 200 (its items are objects)."""
    array: dict[str, Any] = {"type": "array", "items": {"type": "object"}}
    schema = array if field is None else {"type": "object", "properties": {field: array}}
    return {
        200: {
            "description": description,
            "content": {"application/json": {"schema": schema}},
            "headers": {
                NEXT_CURSOR: {
                    "description": "Cursor of the next page (only with `limit` or `cursor`, "
                    "absent on the last page)",
                    "schema": {"type": "string"},
                }
            },
        }
    }


async def _pages(
    fetch: Fetch, first: tuple[list[Item], str | None], page_size: int
) -> AsyncIterator[list[Item]]:
    """The first page, then the rest; each next page is requested before the current one
    is handed out, so the service works while the client receives."""
    items, after = first
    while True:
        ahead = asyncio.ensure_future(fetch(after, page_size)) if after is not None else None
        try:
            yield items
        except BaseException:
            if ahead is not None:
                ahead.cancel()
            raise
        if ahead is None:
            return
        items, after = await ahead


async def _json_array(pages: AsyncIterator[list[Item]], field: str | None) -> AsyncIterator[bytes]:
    yield b"[" if field is None else b'{"' + field.encode() + b'":['
    first = True
    try:
        async for items in pages:
            if not items:
                continue
            # One chunk per page: the encoder's speed (orjson: a 100,000-agent list spent
            # most of its gateway time in the standard encoder), the page's memory.
            body = orjson.dumps(items)[1:-1]
            yield body if first else b"," + body
            first = False
    except Exception:
        # The status line is gone: ending the body short is all that is left to do; the
        # client sees invalid JSON instead of a list that silently lacks items.
        log.exception("collection stream broken after its first page")
        raise
    yield b"]" if field is None else b"]}"


async def collection(
    fetch: Fetch,
    limit: int | None,
    cursor: str | None,
    *,
    field: str | None = None,
    page_size: int = PAGE_MAX,
) -> Response:
    """The whole collection streamed (no `limit`, no `cursor`), or one page and its cursor."""
    after = decode_cursor(cursor)
    if limit is None and cursor is None:
        # The first page before the status line: its errors are still proper answers.
        first = await fetch(None, page_size)
        return StreamingResponse(
            _json_array(_pages(fetch, first, page_size), field), media_type="application/json"
        )
    items, next_after = await fetch(after, limit or PAGE_DEFAULT)
    headers = {NEXT_CURSOR: token} if (token := encode_cursor(next_after)) else None
    return JSONResponse(items if field is None else {field: items}, headers=headers)
