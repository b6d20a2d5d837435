"""Heartbeat use cases: beats reset timers; transitions are saved in batches."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from agentplane.contracts.liveness import AgentLiveness, LivenessQuery, LivenessReport
from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.views import ViewStore
from agentplane.heartbeat.domain import Liveness, LivenessTable, Transition
from agentplane.heartbeat.projections import LIVENESS, LivenessProjection

LAST_SEEN = "last_seen"


class HeartbeatStore(ServiceApplication):
    """The heartbeat service's event store: liveness transitions only."""

    name = "heartbeat"


def epoch_to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class PendingTransition:
    agent_id: str
    transition: Transition
    at: float
    last_seen: float


class LivenessEngine:
    """Owns the in-memory liveness table, its event log and its restart checkpoint."""

    def __init__(
        self,
        store: HeartbeatStore,
        views: ViewStore,
        checkpoints: ViewStore,
        *,
        offline_after: float,
        grace: float,
        clock: Any = time.time,
    ) -> None:
        self.store = store
        self.views = views
        self.checkpoints = checkpoints
        self.clock = clock
        self.grace = grace
        self.table = LivenessTable(offline_after=offline_after)
        self.projector = ProjectionRunner(store, views, LivenessProjection())
        self._pending: list[PendingTransition] = []
        self._pending_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._dirty: set[str] = set()

    def restore(self) -> int:
        """Rebuild the table from the event log and the last checkpoint; return agents known."""
        self.projector.catch_up()
        now = self.clock()
        with self.views.read() as tx:
            states = dict(tx.items(LIVENESS))
        with self.checkpoints.read() as tx:
            seen = {key: doc["last_seen"] for key, doc in tx.items(LAST_SEEN)}
        for agent_id, state in states.items():
            last_seen = seen.get(agent_id) or datetime.fromisoformat(state["since"]).timestamp()
            self.table.restore(agent_id, last_seen, state["online"], now)
        # No offline decision before a full interval plus grace has passed since start.
        self.table.not_before = now + self.table.offline_after + self.grace
        return len(states)

    def beat(self, agent_id: UUID) -> float:
        """A heartbeat from an authenticated agent; returns the time it was seen."""
        now = self.clock()
        key = str(agent_id)
        transition = self.table.beat(key, now)
        self._dirty.add(key)
        if transition is not None:
            with self._pending_lock:
                self._pending.append(PendingTransition(key, transition, now, now))
        return now

    def sweep(self) -> int:
        now = self.clock()
        expired = self.table.sweep(now)
        if expired:
            with self._pending_lock:
                for agent_id in expired:
                    clock = self.table.get(agent_id)
                    assert clock is not None
                    self._pending.append(
                        PendingTransition(agent_id, Transition.WENT_OFFLINE, now, clock.last_seen)
                    )
        return len(expired)

    def flush_transitions(self) -> int:
        """Save every pending transition in one batch; return how many were saved."""
        with self._save_lock:
            with self._pending_lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            aggregates: dict[str, Liveness] = {}
            for item in batch:
                aggregate = aggregates.get(item.agent_id) or self._load(item.agent_id)
                if item.transition is Transition.CAME_ONLINE:
                    aggregate.came_online(at=epoch_to_datetime(item.at))
                else:
                    aggregate.went_offline(
                        at=epoch_to_datetime(item.at),
                        last_seen_at=epoch_to_datetime(item.last_seen),
                    )
                aggregates[item.agent_id] = aggregate
            self.store.save(*aggregates.values())
            self.projector.catch_up()
            return len(batch)

    def _load(self, agent_id: str) -> Liveness:
        try:
            return self.store.repository.get(UUID(agent_id))
        except AggregateNotFoundError:
            return Liveness._create(Liveness.Created, id=UUID(agent_id))

    def checkpoint(self) -> int:
        """Persist last-seen times changed since the previous checkpoint (not events)."""
        dirty, self._dirty = self._dirty, set()
        if not dirty:
            return 0
        with self.checkpoints.transaction() as tx:
            for agent_id in dirty:
                clock = self.table.get(agent_id)
                if clock is not None:
                    tx.put(LAST_SEEN, agent_id, {"last_seen": clock.last_seen})
        return len(dirty)

    def query(self, query: LivenessQuery) -> LivenessReport:
        agents: dict[str, AgentLiveness] = {}
        for agent_id in query.agent_ids:
            clock = self.table.get(str(agent_id))
            if clock is not None:
                agents[str(agent_id)] = AgentLiveness(
                    online=clock.online, last_seen_at=epoch_to_datetime(clock.last_seen)
                )
        return LivenessReport(agents=agents)
