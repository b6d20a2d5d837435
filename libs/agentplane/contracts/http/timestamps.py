"""Timestamp forms of the HTTP dialects: RFC 3339 parsing and the documents' output forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime

RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$"
)


def parse_rfc3339(value: str) -> datetime | None:
    """An RFC 3339 timestamp with an explicit offset (`Z` for UTC), else None."""
    if not RFC3339.match(value):
        return None
    text = value.upper().replace("Z", "+00:00")
    # Python keeps microseconds: cut longer fractions instead of rejecting them.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None


def rfc3339_seconds(value: datetime) -> str:
    """`2026-03-21T14:30:01Z`, the timestamp form of seed 003."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
