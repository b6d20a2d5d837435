"""Lifecycle history of PAP agents in the agent view: one entry per state transition.

Kept oldest first in the view document under `lifecycle`; the agent's state is the
`to_state` of the last entry. Pure functions of the registry's events, so a replay rebuilds
the same history (entry ids derive from the event's aggregate id and version).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid5

from eventsourcing.domain import DomainEventProtocol

from agentplane.contracts.pap import PAP_DIALECT

NEW = "NEW"
TERMINATED = "TERMINATED"


def _entry(
    event: DomainEventProtocol[Any],
    event_type: str,
    from_state: str | None,
    to_state: str,
    triggered_by: str,
    at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": str(uuid5(event.originator_id, str(event.originator_version))),
        "agent_uuid": str(event.originator_id),
        "event_type": event_type,
        "from_state": from_state,
        "to_state": to_state,
        "metadata": {"triggered_by": triggered_by},
        "timestamp": (at or event.timestamp).isoformat(),
    }


def created_history(event: DomainEventProtocol[Any]) -> list[dict[str, Any]]:
    """The history a new agent starts with: CREATED → NEW for PAP agents, none otherwise."""
    if getattr(event, "dialect", None) != PAP_DIALECT:
        return []
    return [_entry(event, "CREATED", None, NEW, "user")]


def terminated_history(
    doc: dict[str, Any], event: DomainEventProtocol[Any]
) -> list[dict[str, Any]]:
    """The history after a user-initiated termination (agents with a history only)."""
    history = list(doc.get("lifecycle") or [])
    if history and history[-1]["to_state"] != TERMINATED:
        history.append(
            _entry(event, "TERMINATED", history[-1]["to_state"], TERMINATED, "user", event.at)
        )
    return history


def state_of(doc: dict[str, Any]) -> str:
    history = doc.get("lifecycle") or []
    return str(history[-1]["to_state"]) if history else NEW
