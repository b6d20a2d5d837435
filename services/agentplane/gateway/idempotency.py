"""The `Idempotency-Key` header of creating routes, turned into the contract's `Idempotency`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel

from agentplane.contracts.errors import invalid
from agentplane.contracts.idempotency import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_WINDOW_HOURS,
    MAX_IDEMPOTENCY_KEY,
    Idempotency,
    fingerprint,
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description=(
            f"Makes a retry safe: for {IDEMPOTENCY_WINDOW_HOURS} h the same key (1 to "
            f"{MAX_IDEMPOTENCY_KEY} characters) returns the first answer, secrets included, "
            "and creates nothing more; the same key with a different request is 409."
        ),
    ),
]

IDEMPOTENCY_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "Idempotency-Key already used for a different request, or expired"},
}


def checked_key(key: str | None) -> str | None:
    """The header's key, or a 400 naming it when it is empty or too long."""
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise invalid(
            f"{IDEMPOTENCY_HEADER} must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
            field=IDEMPOTENCY_HEADER,
        )
    return key


def idempotency(key: str | None, scope: str, route: str, body: BaseModel) -> Idempotency | None:
    """The request's idempotency for `scope` (the authenticated principal), or None."""
    if checked_key(key) is None:
        return None
    assert key is not None
    asked = body.model_dump(mode="json", exclude={"idempotency"})
    return Idempotency(scope=scope, key=key, fingerprint=fingerprint(route, asked))
