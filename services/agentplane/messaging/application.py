"""Command use cases: record intent first, then every delivery step as it happens.

Synchronous (eventsourcing); handlers call them in threads. Commands return the last
notification id they recorded (0 when nothing changed), so the caller can wait until the
events are public before answering.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import IntegrityError

from agentplane.contracts.channel import CommandOutcome, CommandResult
from agentplane.contracts.commands import (
    CancelCommand,
    CommandPage,
    CommandView,
    GetCommand,
    ListCommands,
    SendCommand,
)
from agentplane.contracts.errors import conflict
from agentplane.eventstore.application import ServiceApplication
from agentplane.messaging.command_records import CommandRecords
from agentplane.messaging.cursors import cursor_after, position_of
from agentplane.messaging.domain import (
    Command,
    CommandStatus,
    InvalidTransition,
    acknowledged_event,
    command_uuid,
    idempotent_command_uuid,
)
from agentplane.messaging.projections import COMMAND, OPEN, queued_doc
from agentplane.messaging.translate import TRANSLATOR

# Statuses of a command the agent has not acknowledged yet: delivery (re)sends these.
WAITING = frozenset({CommandStatus.QUEUED.value, CommandStatus.DELIVERED.value})
# (sort, key) of a view row: where a page of the delivery queue ends.
Position = tuple[str, str]


class MessagingStore(ServiceApplication):
    """The messaging service's event store."""

    name = "messaging"
    translator = TRANSLATOR


def view_of(doc: dict[str, Any], *, with_params: bool = False) -> CommandView:
    data = dict(doc)
    if not with_params:
        data.pop("params", None)
    return CommandView.model_validate(data)


class Commands(CommandRecords):
    """Remote commands of every agent: what operators ask and what delivery records."""

    # -- operator side ---------------------------------------------------------------------

    def send(self, cmd: SendCommand) -> tuple[CommandView, bool, int]:
        """Queue a command; with an idempotency key, a repeat returns the first command."""
        agent_id = str(cmd.agent_id)
        key = cmd.idempotency_key
        uuid = idempotent_command_uuid(cmd.workspace_id, cmd.agent_id, key) if key else uuid4()
        command = Command.queue(
            uuid,
            cmd.workspace_id,
            agent_id,
            cmd.action.value,
            cmd.params,
            self.clock() + timedelta(seconds=cmd.ttl_seconds),
        )
        (queued,) = command.pending_events  # its view document, built without reading it back
        try:
            position = self.committer.save(command)
        except IntegrityError:
            if key is None:
                raise
            existing = self._doc(command.command_id)
            if existing is None:  # saved by another replica, not yet in this view
                self.projector.catch_up()
                existing = self._doc(command.command_id)
            if existing is None or existing["action"] != cmd.action.value:
                raise conflict(
                    "Idempotency-Key was already used for another command", field="Idempotency-Key"
                ) from None
            return view_of(existing), True, 0
        self.timers.add(command.command_id, command.expires_at)
        return view_of(queued_doc(queued)), False, position

    def get(self, query: GetCommand) -> CommandView:
        return view_of(
            self._owned(query.workspace_id, query.agent_id, query.command_id), with_params=True
        )

    def list(self, query: ListCommands) -> CommandPage:
        with self.views.read() as tx:
            docs = tx.list(COMMAND, str(query.agent_id))
        docs = [d for d in docs if d["workspace_id"] == query.workspace_id]
        docs.sort(key=lambda d: (d["created_at"], d["command_id"]), reverse=True)
        if query.cursor:
            after = position_of(query.cursor)
            docs = [d for d in docs if (d["created_at"], d["command_id"]) < after]
        page = docs[: query.limit]
        more = len(docs) > query.limit
        last = page[-1] if more else None
        following = cursor_after(last["created_at"], last["command_id"]) if last else None
        return CommandPage(commands=[view_of(d) for d in page], next_cursor=following)

    def cancel(self, cmd: CancelCommand) -> tuple[CommandView, int]:
        doc = self._owned(cmd.workspace_id, cmd.agent_id, cmd.command_id)

        def cancel(command: Command) -> None:
            try:
                command.cancel(self.clock())
            except InvalidTransition:
                raise conflict(
                    f"Command is {command.status}; only a queued command can be cancelled"
                ) from None

        position = self._change(doc["command_id"], cancel)
        changed = self._doc(doc["command_id"])
        assert changed is not None
        return view_of(changed), position

    # -- delivery side ---------------------------------------------------------------------

    def pending(self, agent_id: str) -> list[CommandView]:
        """Open commands of an agent not yet acknowledged, oldest first (delivery order)."""
        docs: list[dict[str, Any]] = []
        after: Position | None = None
        while True:
            page, after = self.pending_page(agent_id, after, 1000)
            docs += page
            if after is None:
                break
        with self.views.read() as tx:
            full = [tx.get(COMMAND, d["command_id"]) for d in docs]
        return [view_of(d, with_params=True) for d in full if d is not None]

    def pending_page(
        self, agent_id: str, after: Position | None, limit: int
    ) -> tuple[list[dict[str, Any]], Position | None]:
        """Up to `limit` commands to deliver (queued or delivered, not acknowledged), oldest
        first, after `after`; and where the next page starts (None at the end).

        The open-command documents carry what a hub message needs: a backlog is read a window
        at a time, and an agent that is not connected costs one row, not its whole queue.
        """
        docs: list[dict[str, Any]] = []
        with self.views.read() as tx:
            while len(docs) < limit:
                rows = tx.page(OPEN, agent_id, limit, after=after)
                for sort, key, text in rows:
                    after = (sort, key)
                    doc = json.loads(text)
                    if doc["status"] in WAITING:
                        docs.append(doc)
                        if len(docs) == limit:
                            return docs, after
                if len(rows) < limit:
                    return docs, None
        return docs, after

    def pending_count(self, agent_id: str) -> int:
        with self.views.read() as tx:
            rows = tx.page(OPEN, agent_id, 1_000_000)
        # Documents are stored compact with sorted keys: the status reads without decoding.
        return sum(1 for _, _, text in rows if '"status":"acknowledged"' not in text)

    def agents_with_pending(self) -> set[str]:
        with self.views.read() as tx:
            return {d["agent_id"] for d in tx.list(OPEN) if d["status"] in WAITING}

    def delivered(self, command_id: str) -> int:
        return self._step(command_id, lambda c: c.deliver(self.clock()))

    def acknowledged(self, command_id: str) -> int:
        return self._step(command_id, lambda c: c.acknowledge(self.clock()))

    def acknowledged_many(self, command_ids: list[str]) -> int:
        """Acknowledgements of a delivered window, recorded in one transaction.

        Built from the open-command view (state and version) rather than by loading each
        command: a backlog's acks cost one event each. A command that moved on meanwhile
        makes the store refuse the group; then each is recorded on its own, loaded.
        """
        now = self.clock()
        with self.views.read() as tx:
            docs = [(command_id, tx.get(OPEN, command_id)) for command_id in command_ids]
        events = []
        for command_id, doc in docs:
            uuid = command_uuid(command_id)
            if uuid is None or doc is None:
                continue  # not a command, or one that already ended: the ack changes nothing
            if "version" not in doc:  # a view written before it kept versions
                return max(self.acknowledged(c) for c in command_ids)
            try:
                events.append(
                    acknowledged_event(uuid, doc["version"], CommandStatus(doc["status"]), doc, now)
                )
            except InvalidTransition:
                continue
        if not events:
            return 0
        try:
            return self.committer.save_events(*events)
        except IntegrityError:
            return max(self.acknowledged(e.command_id) for e in events)

    def finished(self, agent_id: str, result: CommandResult) -> int:
        doc = self._doc(result.command_id)
        if doc is None or doc["agent_id"] != agent_id:
            # Another agent's command, or none: the result changes nothing.
            return 0
        succeeded = result.outcome is CommandOutcome.SUCCEEDED
        return self._step(
            result.command_id,
            lambda c: c.finish(succeeded, result.result, result.error or "", self.clock()),
        )

    def cancel_queued_of(self, agent_id: str) -> int:
        """Cancel every command still queued for an agent that is gone; the last position."""
        now = self.clock()
        with self.views.read() as tx:
            queued = [d for d in tx.list(OPEN, agent_id) if d["status"] == "queued"]
        position = 0
        for doc in queued:
            position = max(position, self._step(doc["command_id"], lambda c: c.cancel(now)))
        return position

    def expire_due(self, limit: int = 500) -> int:
        """Record `expired` for open commands whose timer is due; the last position."""
        now = self.clock()
        position = 0
        for command_id in self.timers.due(now, limit):
            position = max(position, self._step(command_id, lambda c: c.expire(now)))
        return position
