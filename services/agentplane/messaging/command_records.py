"""The command use cases' access to commands: the store's group commit and projection (shared
by messages and tasks), loading and changing one command (retried when another writer saved it
first), reading the view, the ownership check, and the expiry timers restored at start.
`Commands` (application.py) builds the use cases on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, Recording

from agentplane.contracts.errors import not_found
from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.group_commit import GroupCommitter
from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.views import ViewStore
from agentplane.messaging.domain import Command, InvalidTransition, command_uuid
from agentplane.messaging.expiry_timers import ExpiryTimers
from agentplane.messaging.projections import COMMAND, OPEN, MessagingProjection

NOT_FOUND = "Command not found"
# Attempts of a change that lost a race with another writer of the same command.
RETRIES = 5


class CommandRecords:
    """Remote commands of every agent, as the use cases load, change and read them."""

    def __init__(
        self,
        store: ServiceApplication,
        views: ViewStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.views = views
        self.clock = clock
        # One projection for the whole store: messages (messages.py) share this log.
        self.projector = ProjectionRunner(store, views, MessagingProjection())
        self.committer = GroupCommitter(store, recorded=self._recorded)
        # Who else takes each commit's recordings from memory (the outbox relay, once started).
        self.recorded_hooks: list[Callable[[list[Recording[Any]]], object]] = []
        self.timers = ExpiryTimers()

    def _recorded(self, recordings: list[Recording[Any]]) -> None:
        # Each group is applied to the view right after its commit, from memory (read-your-
        # writes without reading the log back), and handed to the relay the same way.
        self.projector.apply_recorded(recordings)
        for hook in self.recorded_hooks:
            hook(recordings)

    def load_timers(self) -> int:
        """Arm a timer for every open command (at start; new commands arm their own)."""
        with self.views.read() as tx:
            docs = tx.list(OPEN)
        for doc in docs:
            self.timers.add(doc["command_id"], datetime.fromisoformat(doc["expires_at"]))
        return len(docs)

    # -- internals -------------------------------------------------------------------------

    def _doc(self, command_id: str) -> dict[str, Any] | None:
        with self.views.read() as tx:
            return tx.get(COMMAND, command_id)

    def _owned(self, workspace_id: str, agent_id: UUID, command_id: str) -> dict[str, Any]:
        doc = self._doc(command_id)
        if doc is None or doc["workspace_id"] != workspace_id or doc["agent_id"] != str(agent_id):
            raise not_found(NOT_FOUND)
        return doc

    def _step(self, command_id: str, change: Callable[[Command], None]) -> int:
        """A delivery step; one the command is already past changes nothing (at least once)."""

        def guarded(command: Command) -> None:
            try:
                change(command)
            except InvalidTransition:
                pass

        return self._change(command_id, guarded)

    def _change(self, command_id: str, change: Callable[[Command], None]) -> int:
        uuid = command_uuid(command_id)
        if uuid is None:
            raise not_found(NOT_FOUND)
        for attempt in range(RETRIES):
            try:
                command: Command = self.store.repository.get(uuid)
            except AggregateNotFoundError:
                raise not_found(NOT_FOUND) from None
            change(command)
            if not command.pending_events:
                return 0
            try:
                return self.committer.save(command)
            except IntegrityError:
                if attempt == RETRIES - 1:
                    raise
        return 0
