"""Seed 002 status of an orchestrator agent: offline, online or degraded."""

from __future__ import annotations

from typing import Any

# The agent attribute holding the status its heartbeats report (changes only are recorded).
REPORTED_STATUS = "reported_status"
# The reported status of an agent in good health; any other makes an online agent `degraded`.
HEALTHY = "healthy"

ONLINE, OFFLINE, DEGRADED = "online", "offline", "degraded"


def derived_status(online: bool, attributes: dict[str, Any]) -> str:
    """Offline until the agent heartbeats and after it misses three intervals; while online,
    `degraded` when the status its heartbeats report is not healthy."""
    if not online:
        return OFFLINE
    reported = attributes.get(REPORTED_STATUS)
    if isinstance(reported, str) and reported.lower() != HEALTHY:
        return DEGRADED
    return ONLINE
