"""Liveness transitions waiting to be saved, and the Liveness events a batch of them becomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from agentplane.heartbeat.domain import Liveness, Transition

# An agent's Liveness version not known in memory (read from the log when needed); 0 means it
# has no Liveness aggregate yet.
UNKNOWN_VERSION = -1


def epoch_to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class PendingTransition:
    agent_id: str
    transition: Transition
    at: float
    last_seen: float


def transition_events(
    batch: list[PendingTransition], version_of: Callable[[str], int]
) -> tuple[list[DomainEventProtocol[Any]], dict[str, int]]:
    """The events of `batch` in order, and each agent's version after them.

    Built without reading the aggregates: `version_of` gives an agent's version before the
    batch (0: no aggregate yet).
    """
    events: list[DomainEventProtocol[Any]] = []
    versions: dict[str, int] = {}
    for item in batch:
        version = versions.get(item.agent_id)
        if version is None:
            version = version_of(item.agent_id)
        agent_id = UUID(item.agent_id)
        at = epoch_to_datetime(item.at)
        if version == 0:
            # A new aggregate: its creation event first (what `Liveness._create` records).
            version = 1
            events.append(
                Liveness.Created(
                    originator_id=agent_id,
                    originator_version=version,
                    timestamp=Liveness.Created.create_timestamp(),
                    originator_topic=Liveness.TOPIC,
                )
            )
        version += 1
        event_class: type[Liveness.CameOnline | Liveness.WentOffline]
        if item.transition is Transition.CAME_ONLINE:
            event_class, fields = Liveness.CameOnline, {"at": at}
        else:
            last_seen_at = epoch_to_datetime(item.last_seen)
            event_class, fields = Liveness.WentOffline, {"at": at, "last_seen_at": last_seen_at}
        events.append(
            event_class(
                originator_id=agent_id,
                originator_version=version,
                timestamp=event_class.create_timestamp(),
                **fields,
            )
        )
        versions[item.agent_id] = version
    return events, versions
