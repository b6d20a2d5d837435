"""Heartbeat use cases: beats reset timers; transitions are saved in batches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError, Recording

from agentplane.contracts.liveness import AgentLiveness, LivenessQuery, LivenessReport
from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.views import ViewStore
from agentplane.heartbeat.checkpoint import (
    CheckpointRow,
    RestoredTrust,
    read_checkpoint,
    write_checkpoint,
)
from agentplane.heartbeat.credentials import Tag, VerifiedTokens
from agentplane.heartbeat.domain import LivenessTable, Transition
from agentplane.heartbeat.liveness_versions import LivenessVersions
from agentplane.heartbeat.projections import LIVENESS, LivenessProjection
from agentplane.heartbeat.transition_events import (
    UNKNOWN_VERSION,
    PendingTransition,
    epoch_to_datetime,
    transition_events,
)
from agentplane.heartbeat.translate import TRANSLATOR


class HeartbeatStore(ServiceApplication):
    """The heartbeat service's event store: liveness transitions only."""

    name = "heartbeat"
    translator = TRANSLATOR


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
        self.restored_trust = RestoredTrust()
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
        self.versions = LivenessVersions(self.table, store)
        # Called with what each flush recorded (the outbox relay publishes it from memory).
        self.recorded_hooks: list[Callable[[list[Recording[Any]]], object]] = []

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
        seen, meta = read_checkpoint(self.checkpoints)
        self.checkpointed_at = meta.get("written_at")
        cleared_at = meta.get("trust_cleared_at", 0.0)
        # Carried on: rows the previous run did not rewrite since its clear stay void.
        self.trust_cleared_at = cleared_at
        counts = RestoredTrust(cleared_at=cleared_at)
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
            restored = table.index[agent_id]
            # Views written before versions were kept have none: read from the log once.
            self.versions.put(restored, state.get("version", UNKNOWN_VERSION))
            if counts.holds(remembered, now):
                tag, until = remembered["tag"], remembered["trusted_until"]
                self.tokens.restore(restored, VerifiedTokens.parse(tag), until)
        self.restored_trust = counts
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
        """Save every pending transition in one batch; return how many were saved.

        The events are built from the versions kept in memory; if another writer saved one of
        these agents meanwhile (a conflict), their versions are read from the log and the
        batch is saved again. What was recorded goes to `recorded_hooks` (the relay) before
        the view is updated: subscribers see a transition first.
        """
        with self._save_lock:
            with self._pending_lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                try:
                    events, versions = transition_events(batch, self.versions.of)
                    recordings = self.store.save(*events)
                except IntegrityError:
                    for item in batch:
                        self.versions.set(item.agent_id, UNKNOWN_VERSION)
                    events, versions = transition_events(batch, self.versions.of)
                    recordings = self.store.save(*events)
            except Exception:
                # The table already moved on: these decisions must still reach the log, so
                # they go back to the front of the queue for the next attempt.
                with self._pending_lock:
                    self._pending[:0] = batch
                raise
            for agent_id, version in versions.items():
                self.versions.set(agent_id, version)
            for hook in self.recorded_hooks:
                hook(recordings)
            self.projector.apply_recorded(recordings)
            return len(batch)

    def checkpoint_rows(self, everything: bool = True) -> list[CheckpointRow]:
        """What changed since the previous call (call on the event loop); with `everything`
        False only what a restart must not miss (see `LivenessTable.urgent`)."""
        now = self.clock()
        tokens = self.tokens
        table = self.table
        rows = []
        for agent_id, last_seen, offline_after in table.take_dirty(everything):
            slot = table.index[agent_id]
            rows.append(
                CheckpointRow(agent_id, last_seen, offline_after, tokens.snapshot(slot, now), now)
            )
        return rows

    def write_checkpoint(self, rows: list[CheckpointRow]) -> int:
        """Persist last-seen times, intervals and trusted token tags (not events); a thread."""
        return write_checkpoint(self.checkpoints, rows, self.clock(), self.trust_cleared_at)

    def retry_rows(self, rows: list[CheckpointRow]) -> None:
        """A write of `rows` failed: the next checkpoint writes them (call on the event loop)."""
        table = self.table
        for row in rows:
            slot = table.slot(row.agent_id)
            if slot is not None:
                table.urgent[slot] = 1

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
        self.table.urgent[slot] = 1

    def trust(self, slot: int, tag: Tag, now: float, expires_at: float | None = None) -> None:
        """The registry verified this token: trust it, and checkpoint that soon."""
        self.tokens.remember(slot, tag, now, expires_at)
        self.table.urgent[slot] = 1

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
