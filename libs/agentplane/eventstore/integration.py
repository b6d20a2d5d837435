"""Translation of recorded domain events into public integration events."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.utils import get_topic

from agentplane.contracts.events import IntegrationEvent

_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def _public(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_public(v) for v in value]
    return value


def event_topic(event: DomainEventProtocol[Any]) -> str:
    """The stable topic of an event (its explicit TOPIC)."""
    return getattr(type(event), "TOPIC", None) or get_topic(type(event))


def to_integration(app: str, position: int, event: DomainEventProtocol[Any]) -> IntegrationEvent:
    """The public form of a recorded event.

    Fields an event class names in `PRIVATE` (hashes of secrets and the like) never leave the
    service. Events of aggregates with `AGENT_SCOPED = True` concern the agent whose id is the
    aggregate id; events naming an `AGENT_FIELD` concern the agent that field holds.
    """
    private = getattr(type(event), "PRIVATE", frozenset())
    fields = {
        k: _public(v)
        for k, v in vars(event).items()
        if k not in _ENVELOPE and k not in private and not k.startswith("_")
    }
    aggregate_id = str(event.originator_id)
    agent_field = getattr(type(event), "AGENT_FIELD", None)
    agent_id = (
        aggregate_id
        if getattr(type(event), "AGENT_SCOPED", False)
        else (fields.get(agent_field) if agent_field else None)
    )
    return IntegrationEvent(
        id=f"{app}:{position}",
        app=app,
        position=position,
        type=event_topic(event),
        aggregate_id=aggregate_id,
        aggregate_version=event.originator_version,
        occurred_at=event.timestamp,
        workspace_id=fields.get("workspace_id"),
        agent_id=agent_id,
        data=fields,
    )
