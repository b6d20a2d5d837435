"""Names the lifecycle service's events share with its domain: type strings, who triggered.

The public models are in `agentplane.contracts.events.lifecycle`; this module stays free of
them so the lifecycle domain can name its event types without knowing their public form.
"""

from __future__ import annotations

from enum import StrEnum

AGENT_TRANSITIONED = "lifecycle.AgentTransitioned"
# Bookkeeping event that opens an agent's lifecycle (its first transition, CREATED, follows
# in the same commit); consumers need not read it.
AGENT_TRACKED = "lifecycle.AgentTracked"


class TriggeredBy(StrEnum):
    """Who caused a transition (seed 004 lifecycle events)."""

    USER = "user"
    SYSTEM = "system"
    HEARTBEAT = "heartbeat"
    PROVISIONER = "provisioner"
