"""Opaque cursors of the webhooks lists: the sort key of the last item of a page."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from agentplane.contracts.errors import invalid

Doc = dict[str, Any]


def cursor_of(created_at: str, item_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at}|{item_id}".encode()).decode()


def after_cursor(cursor: str) -> tuple[str, str]:
    try:
        created, _, item_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
    except (ValueError, UnicodeDecodeError):
        raise invalid("cursor is not one this endpoint returned", field="cursor") from None
    if not item_id:
        raise invalid("cursor is not one this endpoint returned", field="cursor")
    return created, item_id


def page(
    docs: list[Doc],
    key: Callable[[Doc], tuple[str, str]],
    limit: int,
    cursor: str | None,
    newest_first: bool,
) -> tuple[list[Doc], str | None]:
    """One page of `docs` in `key` order (reversed when `newest_first`) after `cursor`."""
    docs = sorted(docs, key=key, reverse=newest_first)
    if cursor:
        mark = after_cursor(cursor)
        docs = [d for d in docs if (key(d) < mark if newest_first else key(d) > mark)]
    chunk = docs[:limit]
    more = len(docs) > limit
    return chunk, (cursor_of(*key(chunk[-1])) if more and chunk else None)
