"""Heartbeat use cases: beats reset timers; transitions are saved in batches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from agentplane.contracts.liveness import AgentLiveness, LivenessQuery, LivenessReport
from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.views import ViewStore
from agentplane.heartbeat.credentials import VerifiedTokens
from agentplane.heartbeat.domain import Liveness, LivenessTable, Transition
from agentplane.heartbeat.projections import LIVENESS, LivenessProjection
from agentplane.heartbeat.translate import TRANSLATOR

LAST_SEEN = "last_seen"
CHECKPOINT_META = "checkpoint_meta"


class HeartbeatStore(ServiceApplication):
    """The heartbeat service's event store: liveness transitions only."""

    name = "heartbeat"
    translator = TRANSLATOR


def epoch_to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class PendingTransition:
    agent_id: str
    transition: Transition
    at: float
    last_seen: float


@dataclass(frozen=True)
class CheckpointRow:
    agent_id: str
    last_seen: float
    offline_after: float
    trust: tuple[str, float] | None  # (token tag hex, trusted until)


class LivenessEngine:
    """Owns the in-memory liveness table, its event log and its restart checkpoint.

    Table mutations (beats, sweeps, queries, checkpoint snapshots) happen on the event loop
    only; the threads that save transitions and checkpoints get plain copies.
    """

    def __init__(
        self,
        store: HeartbeatStore,
        views: ViewStore,
        checkpoints: ViewStore,
        *,
        offline_after: float,
        grace: float,
        tokens: VerifiedTokens | None = None,
        clock: Any = time.time,
        owns: Callable[[str], bool] = lambda _agent_id: True,
    ) -> None:
        self.store = store
        self.tokens = tokens or VerifiedTokens(ttl=0.0)
        # Set by `restore`: when the previous run last wrote its checkpoint (None: never).
        self.checkpointed_at: float | None = None
        # Trust written before this moment is void (our NATS link dropped: events missed).
        self.trust_cleared_at = 0.0
        self.views = views
        self.checkpoints = checkpoints
        self.clock = clock
        self.grace = grace
        self.owns = owns
        self.table = LivenessTable(offline_after=offline_after)
        self.projector = ProjectionRunner(store, views, LivenessProjection())
        self._pending: list[PendingTransition] = []
        self._pending_lock = threading.Lock()
        self._save_lock = threading.Lock()

    def restore(self) -> int:
        """Rebuild the table from the event log and the last checkpoint; return agents known.

        Only agents of the partitions this replica owns are loaded. Tokens that were trusted
        at the checkpoint are trusted again (until their time runs out); the caller then
        replays the registry events since `checkpointed_at` to forget the changed ones.
        """
        self.projector.catch_up()
        now = self.clock()
        with self.views.read() as tx:
            states = [(key, doc) for key, doc in tx.items(LIVENESS) if self.owns(key)]
        with self.checkpoints.read() as tx:
            seen = dict(tx.items(LAST_SEEN))
            meta = tx.get(CHECKPOINT_META, CHECKPOINT_META) or {}
        self.checkpointed_at = meta.get("written_at")
        cleared_at = meta.get("trust_cleared_at", 0.0)
        # Each online agent gets one full interval (its own) plus grace from now.
        fresh_from = now + self.grace
        table = self.table
        for agent_id, state in states:
            remembered = seen.get(agent_id, {})
            last_seen = remembered.get("last_seen") or (
                datetime.fromisoformat(state["since"]).timestamp()
            )
            table.restore(
                agent_id, last_seen, state["online"], fresh_from, remembered.get("offline_after")
            )
            tag, until = remembered.get("tag"), remembered.get("trusted_until", 0.0)
            if tag and until > now and remembered.get("checked_at", 0.0) >= cleared_at:
                slot = table.slot(agent_id)
                assert slot is not None
                self.tokens.restore(slot, VerifiedTokens.parse(tag), until)
        # No offline decision for agents not heard since the start before a full interval
        # plus grace has passed; agents that beat after the start keep their own deadlines.
        table.not_before = now + table.offline_after + self.grace
        table.started_at = now
        return len(states)

    def listening(self) -> None:
        """Call once the replica receives beats: no offline decision for its start-up time."""
        self.table.listening_since(self.clock(), self.grace)

    def beat(
        self,
        agent_id: str,
        now: float,
        offline_after: float | None = None,
        slot: int | None = None,
    ) -> Transition | None:
        """A heartbeat from an authenticated agent (`slot` when the caller looked it up)."""
        if slot is None:
            transition = self.table.beat(agent_id, now, offline_after)
        else:
            transition = self.table.beat_slot(slot, now, offline_after)
        if transition is not None:
            with self._pending_lock:
                self._pending.append(PendingTransition(agent_id, transition, now, now))
        return transition

    def sweep(self) -> int:
        now = self.clock()
        expired = self.table.sweep(now)
        if expired:
            table = self.table
            batch = []
            for agent_id in expired:
                slot = table.slot(agent_id)
                assert slot is not None
                batch.append(
                    PendingTransition(agent_id, Transition.WENT_OFFLINE, now, table.last_seen[slot])
                )
            with self._pending_lock:
                self._pending.extend(batch)
        return len(expired)

    def flush_transitions(self) -> int:
        """Save every pending transition in one batch; return how many were saved."""
        with self._save_lock:
            with self._pending_lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
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
            except Exception:
                # The table already moved on: these decisions must still reach the log, so
                # they go back to the front of the queue for the next attempt.
                with self._pending_lock:
                    self._pending[:0] = batch
                raise
            self.projector.catch_up()
            return len(batch)

    def _load(self, agent_id: str) -> Liveness:
        try:
            return self.store.repository.get(UUID(agent_id))
        except AggregateNotFoundError:
            return Liveness._create(Liveness.Created, id=UUID(agent_id))

    def checkpoint_rows(self) -> list[CheckpointRow]:
        """What changed since the previous call (call on the event loop)."""
        now = self.clock()
        tokens = self.tokens
        table = self.table
        rows = []
        for agent_id, last_seen, offline_after in table.take_dirty():
            slot = table.index[agent_id]
            rows.append(
                CheckpointRow(agent_id, last_seen, offline_after, tokens.snapshot(slot, now))
            )
        return rows

    def write_checkpoint(self, rows: list[CheckpointRow]) -> int:
        """Persist last-seen times, intervals and trusted token tags (not events); a thread."""
        now = self.clock()
        with self.checkpoints.transaction() as tx:
            for row in rows:
                doc: dict[str, Any] = {
                    "last_seen": row.last_seen,
                    "offline_after": row.offline_after,
                    "checked_at": now,
                }
                if row.trust is not None:
                    doc["tag"], doc["trusted_until"] = row.trust
                tx.put(LAST_SEEN, row.agent_id, doc)
            tx.put(
                CHECKPOINT_META,
                CHECKPOINT_META,
                {"written_at": now, "trust_cleared_at": self.trust_cleared_at},
            )
        return len(rows)

    def checkpoint(self) -> int:
        """Snapshot and write in one go (tests, shutdown)."""
        return self.write_checkpoint(self.checkpoint_rows())

    def forget_trust(self, agent_id: str) -> None:
        """The agent's token is no longer trusted; its checkpoint row is rewritten."""
        slot = self.table.slot(agent_id)
        if slot is None:
            self.tokens.generation += 1
            return
        self.tokens.forget(slot)
        self.table.dirty[slot] = 1

    def forget_all_trust(self) -> None:
        self.tokens.forget_all()
        self.trust_cleared_at = self.clock()

    def report(self, agent_ids: Iterable[str]) -> dict[str, AgentLiveness]:
        return {
            agent_id: AgentLiveness.model_validate(live)
            for agent_id, live in self.report_json(agent_ids).items()
        }

    def report_json(self, agent_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """`report` in the JSON form of `AgentLiveness` (answers for whole list pages are
        built without a model per agent)."""
        agents: dict[str, dict[str, Any]] = {}
        table = self.table
        for agent_id in agent_ids:
            slot = table.slot(agent_id)
            if slot is not None:
                agents[agent_id] = {
                    "online": bool(table.online[slot]),
                    "last_seen_at": epoch_to_datetime(table.last_seen[slot]).isoformat(),
                }
        return agents

    def query(self, query: LivenessQuery) -> LivenessReport:
        return LivenessReport(agents=self.report(str(a) for a in query.agent_ids))
