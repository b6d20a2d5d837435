"""Opaque page cursors of the messaging lists: the (created_at, id) of the last item shown."""

from __future__ import annotations

import base64

from agentplane.contracts.errors import invalid


def cursor_after(created_at: str, item_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at}|{item_id}".encode()).decode()


def position_of(cursor: str) -> tuple[str, str]:
    """(created_at, id) of a cursor this service returned; 400 naming `cursor` otherwise."""
    try:
        created, _, item_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
    except (ValueError, UnicodeDecodeError):
        raise invalid("cursor is not one this endpoint returned", field="cursor") from None
    if not item_id:
        raise invalid("cursor is not one this endpoint returned", field="cursor")
    return created, item_id
