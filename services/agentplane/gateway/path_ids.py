"""Ids taken from URL paths: anything that is not an id names nothing, so it is a 404."""

from __future__ import annotations

from uuid import UUID

from agentplane.contracts.errors import not_found

AGENT_NOT_FOUND = "Agent not found"


def agent_uuid(raw: str, message: str = AGENT_NOT_FOUND) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise not_found(message) from None
