"""The registry's application: its event store, views and clock, and the public API every
use-case module works through (load, save, update with retry, workspaces, idempotent creates).

The use cases themselves live by concept: `workspaces`, `enrollment`, `agents`, `credentials`,
`capabilities`, `names`, `releases`, `catalog`, `dialects/` and `nats_auth/`. They are
synchronous: handlers run them through `dispatch` (commands in its thread pool).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Recording
from pydantic import BaseModel

from agentplane.contracts.errors import not_found
from agentplane.contracts.idempotency import Idempotency
from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.group_commit import GroupCommitter
from agentplane.eventstore.paging import Scanned, scan
from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.updates import ATTEMPTS, load, update_with_retry
from agentplane.eventstore.views import ViewStore
from agentplane.registry.idempotency import Answer, IdempotentAnswers
from agentplane.registry.projections import AGENT, WORKSPACE, RegistryProjection
from agentplane.registry.translate import TRANSLATOR
from agentplane.security.shred_keys import ShredKeys

MAX_CACHED_WORKSPACES = 100_000

Result = TypeVar("Result")


class RegistryStore(ServiceApplication):
    """The registry's event store."""

    name = "registry"
    translator = TRANSLATOR


class Registry:
    """Use cases. Each command returns its result and the last notification id it recorded."""

    def __init__(
        self,
        store: RegistryStore,
        views: ViewStore,
        key: bytes,
        *,
        agent_token_ttl: timedelta = timedelta(hours=24),
        agent_domain: str = "agents.local",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        shred_keys: ShredKeys | None = None,
    ) -> None:
        self.store = store
        # Idempotent creates keep their first answer, encrypted under day keys in the data dir.
        self.answers = IdempotentAnswers(store, shred_keys) if shred_keys else None
        self.views = views
        self.key = key
        self.agent_token_ttl = agent_token_ttl
        # Seed 004: a PAP agent's dns_name is `{name}.{agent_domain}`.
        self.agent_domain = agent_domain
        self.clock = clock
        self.projector = ProjectionRunner(store, views, RegistryProjection())
        self.committer = GroupCommitter(store, recorded=self._recorded)
        # Who else takes each commit's recordings from memory (the outbox relay).
        self.recorded_hooks: list[Callable[[list[Recording[Any]]], object]] = []
        # Workspaces never change once created: their view documents are kept here.
        self._workspaces: dict[str, dict[str, Any]] = {}
        # Bytes of documents one page may carry: its reply must fit one NATS message (main
        # sets half the server's max_payload once connected; pages are re-encoded).
        self.reply_budget = 256 * 1024
        # A batch of commands run in one thread collects its saves here (`deferring`).
        self._deferred = threading.local()

    def _recorded(self, recordings: list[Recording[Any]]) -> None:
        # The projection applies each group right after its commit, so the view includes
        # the command's events before its reply goes out (read-your-writes).
        self.projector.apply_recorded(recordings)
        for hook in self.recorded_hooks:
            hook(recordings)

    # -- loading and saving -----------------------------------------------------------------

    def save(self, *aggregates: Any) -> int:
        """Save aggregates together; the last notification id it recorded.

        Concurrent commands share a transaction (group commit); IntegrityError when one of
        the aggregates moved on since it was loaded. Inside `deferring`: only collected (0)."""
        collected: list[Any] | None = getattr(self._deferred, "events", None)
        if collected is not None:
            collected.extend(e for a in aggregates for e in a.collect_events())
            return 0
        return self.committer.save(*aggregates)

    @contextmanager
    def deferring(self) -> Iterator[list[Any]]:
        """Saves in this thread only collect their events, for the caller to commit with a
        batch's (`committer.save_each`). Only for use cases that do not read back what they
        saved, nor save twice where the second builds on the first. Deferred, a save never
        raises IntegrityError: a command refused at commit runs again without deferring, where
        its own conflict handling (409, a retry, the first answer) applies."""
        events: list[Any] = []
        self._deferred.events = events
        try:
            yield events
        finally:
            self._deferred.events = None

    def load(self, aggregate_id: UUID, *, to_change: bool = True) -> Any | None:
        """The aggregate (a private copy to change, or the cached one only to read), or None."""
        return load(self.store, aggregate_id, to_change=to_change)

    def update(
        self,
        attempt: Callable[[], tuple[Result, Sequence[Any]]],
        exhausted: Callable[[], Exception],
        *,
        attempts: int = ATTEMPTS,
    ) -> tuple[Result, int]:
        """Load, change and save what `attempt` returns; again on a concurrent save
        (`eventstore.updates.update_with_retry`)."""
        return update_with_retry(attempt, self.save, exhausted, attempts=attempts)

    def workspace(self, workspace_id: str) -> dict[str, Any]:
        """The workspace's view document, else 404 (workspaces never change: kept here)."""
        if (known := self._workspaces.get(workspace_id)) is not None:
            return known
        with self.views.read() as tx:
            workspace = tx.get(WORKSPACE, workspace_id)
        if workspace is None:
            raise not_found("Workspace not found")
        if len(self._workspaces) >= MAX_CACHED_WORKSPACES:
            self._workspaces.clear()
        self._workspaces[workspace_id] = workspace
        return workspace

    # -- idempotent creates -----------------------------------------------------------------

    def _idempotent(self) -> IdempotentAnswers:
        if self.answers is None:
            raise RuntimeError("idempotent creates need shred keys (build_registry gives them)")
        return self.answers

    def replay(self, idempotency: Idempotency | None, answer_type: type[Answer]) -> Answer | None:
        """The first answer to a create retried with its Idempotency-Key, else None."""
        if idempotency is None:
            return None
        return self._idempotent().replay(idempotency, answer_type, self.clock())

    def once(
        self,
        idempotency: Idempotency | None,
        answer_type: type[Answer],
        create: Callable[[], tuple[Answer, list[Any]]],
    ) -> tuple[Answer, int]:
        """Run a create once per Idempotency-Key: its aggregates and its answer in one save.

        A retry gets the stored answer; a parallel first use of the key that lost the save
        gets the winner's. Without a key: a plain create (IntegrityError propagates).
        """
        if (first := self.replay(idempotency, answer_type)) is not None:
            return first, 0
        answer, aggregates = create()
        try:
            position = self.save(*aggregates, *self.answer_record(idempotency, answer))
        except IntegrityError:
            if (first := self.replay(idempotency, answer_type)) is not None:
                return first, 0
            raise
        return answer, position

    def answer_record(self, idempotency: Idempotency | None, answer: BaseModel) -> list[Any]:
        """The stored answer to save with a create (none without an Idempotency-Key)."""
        if idempotency is None:
            return []
        return self._idempotent().record(idempotency, answer, self.clock())

    # -- agent pages --------------------------------------------------------------------------

    def page_agents(
        self,
        workspace_id: str,
        after: str | None,
        limit: int,
        keep: Callable[[dict[str, Any]], bool] | None = None,
        kind: str = AGENT,
    ) -> Scanned:
        """A page of a workspace's agent documents, oldest first (or another agent index)."""
        with self.views.read() as tx:
            return scan(
                tx, kind, workspace_id, after=after, limit=limit,
                max_bytes=self.reply_budget, keep=keep,
            )  # fmt: skip
