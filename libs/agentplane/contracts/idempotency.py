"""`Idempotency-Key` on creating requests: a retry returns the first answer, secrets included.

The gateway fills `Idempotency` from the header and the authenticated principal (never from a
request body); the owning service stores the first answer, encrypted, together with what it
created (one transaction), and answers a retry with the same key from it for 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 255
IDEMPOTENCY_WINDOW_HOURS = 24


class Idempotency(BaseModel):
    """Who asked (`scope`), their key, and a digest of what they asked (`fingerprint`)."""

    model_config = ConfigDict(frozen=True)

    scope: str = Field(min_length=1, max_length=200)
    key: str = Field(min_length=1, max_length=MAX_IDEMPOTENCY_KEY)
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")


def fingerprint(route: str, body: dict[str, Any]) -> str:
    """The digest of one request: the same key with another request is refused (409)."""
    canonical = json.dumps({"route": route, "body": body}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
