"""The messaging read model: commands (every one, and the open ones still to deliver or
finish), messages (see message_projection) and tasks (see task_projection)."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from agentplane.eventstore.views import ViewTx
from agentplane.messaging.domain import FINAL, Command, CommandStatus
from agentplane.messaging.message_projection import MessageProjection
from agentplane.messaging.task_projection import TaskProjection

COMMAND = "command"
# Commands not yet in an end state (delivery, retries and expiry look only here).
OPEN = "open_command"

_STEP = {
    Command.Delivered: (CommandStatus.DELIVERED, "delivered_at"),
    Command.Acknowledged: (CommandStatus.ACKNOWLEDGED, "acknowledged_at"),
    Command.Succeeded: (CommandStatus.SUCCEEDED, "finished_at"),
    Command.Failed: (CommandStatus.FAILED, "finished_at"),
    Command.Expired: (CommandStatus.EXPIRED, "finished_at"),
    Command.Cancelled: (CommandStatus.CANCELLED, "finished_at"),
}


def queued_doc(event: Command.Queued) -> dict[str, Any]:
    """A new command's document (also its sender's answer: no read back of what was written)."""
    at = event.timestamp.isoformat()
    return {
        "command_id": event.command_id,
        "agent_id": event.agent_id,
        "workspace_id": event.workspace_id,
        "action": event.action,
        "params": event.params,
        "status": CommandStatus.QUEUED.value,
        "result": None,
        "error": None,
        "created_at": at,
        "updated_at": at,
        "expires_at": event.expires_at.isoformat(),
        "delivered_at": None,
        "acknowledged_at": None,
        "finished_at": None,
        "version": event.originator_version,
    }


class CommandProjection:
    """Pure mapping of command events onto view documents."""

    name = "commands"

    def apply(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None:
        if isinstance(event, Command.Queued):
            doc = queued_doc(event)
            tx.put(COMMAND, event.command_id, doc, scope=event.agent_id)
            tx.put(OPEN, event.command_id, _open(doc), scope=event.agent_id, sort=doc["created_at"])
            return
        step = _STEP.get(type(event))
        if step is None:
            return
        doc = tx.get(COMMAND, event.command_id)
        if doc is None:
            return
        status, stamp = step
        at = event.at.isoformat()
        doc.update(status=status.value, updated_at=at, version=event.originator_version)
        doc[stamp] = at
        if isinstance(event, Command.Acknowledged) and doc["delivered_at"] is None:
            doc["delivered_at"] = at  # acknowledged straight from queued: delivered then too
        if isinstance(event, Command.Succeeded | Command.Failed):
            doc["result"] = event.result
        if isinstance(event, Command.Failed):
            doc["error"] = event.error
        tx.put(COMMAND, event.command_id, doc, scope=event.agent_id)
        if status in FINAL:
            tx.delete(OPEN, event.command_id)
        else:
            tx.put(OPEN, event.command_id, _open(doc), scope=event.agent_id, sort=doc["created_at"])


def _open(doc: dict[str, Any]) -> dict[str, Any]:
    # `version` and `action` let delivery record an ack without loading the command, and
    # `params` lets it send the command without reading the command's own document.
    keys = (
        "command_id", "agent_id", "action", "params", "status", "created_at", "expires_at",
        "version",
    )  # fmt: skip
    return {k: doc[k] for k in keys}


class MessagingProjection:
    """The one projection of the messaging store: commands, messages and tasks share its log."""

    name = "messaging"
    # 2: open commands and undelivered messages are ordered by creation (delivery pages through
    # them) and open commands carry their params. 3: a message is one document, in the kind
    # of its state (see message_projection).
    version = 3
    rebuilt_kinds = MessageProjection.rebuilt_kinds

    def __init__(self) -> None:
        self.parts = (CommandProjection(), MessageProjection(), TaskProjection())

    def apply(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None:
        for part in self.parts:
            part.apply(event, tx)
