"""Value formats of the HTTP dialects."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_ms(value: datetime | None) -> str | None:
    """`2026-03-02T12:00:00.000Z`, the timestamp form of seed 000."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def iso_seconds(value: datetime | None) -> str | None:
    """`2025-11-13T08:00:00Z`, the timestamp form of seed 004 (whole seconds, UTC)."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
