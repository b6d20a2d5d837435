"""A remote command: what an operator asked of an agent, and how far it got.

queued → delivered → acknowledged → succeeded | failed, or expired / cancelled on the way.
Delivery is at least once, so every step may be reported more than once: a repeat of the
state the command is already past changes nothing (the use case asks `can_*` first).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from agentplane.contracts.commands import CommandStatus
from agentplane.messaging.domain.public_ids import aggregate_id, public_id

_IDEMPOTENCY_NS = uuid5(NAMESPACE_URL, "agentplane:command-idempotency-key")
PREFIX = "cmd_"


FINAL = frozenset(
    {CommandStatus.SUCCEEDED, CommandStatus.FAILED, CommandStatus.EXPIRED, CommandStatus.CANCELLED}
)


class InvalidTransition(Exception):
    """The command's state does not allow this step."""


def public_command_id(command_uuid: UUID) -> str:
    return public_id(PREFIX, command_uuid)


def command_uuid(public: str) -> UUID | None:
    """The aggregate id behind `cmd_<hex>`, or None for anything else."""
    return aggregate_id(PREFIX, public)


def idempotent_command_uuid(workspace_id: str, agent_id: UUID, key: str) -> UUID:
    """The same key for the same agent names the same command (a retry creates nothing)."""
    return uuid5(_IDEMPOTENCY_NS, f"{workspace_id}/{agent_id}/{key}")


class Command(Aggregate):
    """One command; every event carries the agent and action so audit entries need no join."""

    TOPIC = "messaging.Command"

    class Event(Aggregate.Event):
        # The agent is a field of every event (the aggregate id is the command's own).
        AGENT_FIELD = "agent_id"
        # Parameters and results are the operator's and the agent's business, not the log's.
        PRIVATE = frozenset({"params", "result"})

    class Created(Event, Aggregate.Created):
        # Never recorded (commands start as Queued); eventsourcing asks every class for a topic.
        TOPIC = "command.Created"

    class Queued(Event, Aggregate.Created):
        TOPIC = "command.Queued"
        workspace_id: str
        agent_id: str
        command_id: str
        action: str
        params: dict[str, Any]
        expires_at: datetime

    class Delivered(Event):
        TOPIC = "command.Delivered"
        agent_id: str
        command_id: str
        action: str
        at: datetime

    class Acknowledged(Event):
        TOPIC = "command.Acknowledged"
        agent_id: str
        command_id: str
        action: str
        at: datetime

    class Succeeded(Event):
        TOPIC = "command.Succeeded"
        agent_id: str
        command_id: str
        action: str
        result: dict[str, Any]
        at: datetime

    class Failed(Event):
        TOPIC = "command.Failed"
        agent_id: str
        command_id: str
        action: str
        result: dict[str, Any]
        error: str
        at: datetime

    class Expired(Event):
        TOPIC = "command.Expired"
        agent_id: str
        command_id: str
        action: str
        at: datetime

    class Cancelled(Event):
        TOPIC = "command.Cancelled"
        agent_id: str
        command_id: str
        action: str
        at: datetime

    def __init__(
        self,
        workspace_id: str,
        agent_id: str,
        command_id: str,
        action: str,
        params: dict[str, Any],
        expires_at: datetime,
    ) -> None:
        self.workspace_id = workspace_id
        self.agent_id = agent_id
        self.command_id = command_id
        self.action = action
        self.params = params
        self.expires_at = expires_at
        self.status = CommandStatus.QUEUED

    @classmethod
    def queue(
        cls,
        command_uuid: UUID,
        workspace_id: str,
        agent_id: str,
        action: str,
        params: dict[str, Any],
        expires_at: datetime,
    ) -> Command:
        return cls._create(
            cls.Queued,
            id=command_uuid,
            workspace_id=workspace_id,
            agent_id=agent_id,
            command_id=public_command_id(command_uuid),
            action=action,
            params=params,
            expires_at=expires_at,
        )

    def _ids(self) -> dict[str, str]:
        return {"agent_id": self.agent_id, "command_id": self.command_id, "action": self.action}

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def deliver(self, at: datetime) -> None:
        if self.status is not CommandStatus.QUEUED:
            raise InvalidTransition(f"a {self.status} command cannot be delivered")
        self._delivered(**self._ids(), at=at)

    @event(Delivered)
    def _delivered(self, agent_id: str, command_id: str, action: str, at: datetime) -> None:
        self.status = CommandStatus.DELIVERED

    def acknowledge(self, at: datetime) -> None:
        """The agent's ack; from `queued` it also says the command was delivered (one event,
        not two: a reconnect backlog of N commands records N events)."""
        if self.status not in (CommandStatus.QUEUED, CommandStatus.DELIVERED):
            raise InvalidTransition(f"a {self.status} command cannot be acknowledged")
        self._acknowledged(**self._ids(), at=at)

    @event(Acknowledged)
    def _acknowledged(self, agent_id: str, command_id: str, action: str, at: datetime) -> None:
        self.status = CommandStatus.ACKNOWLEDGED

    def finish(self, succeeded: bool, result: dict[str, Any], error: str, at: datetime) -> None:
        """The agent's result; it implies delivery and acknowledgement that went unreported."""
        if self.final:
            raise InvalidTransition(f"a {self.status} command cannot finish again")
        if self.status is not CommandStatus.ACKNOWLEDGED:
            self.acknowledge(at)
        if succeeded:
            self._succeeded(**self._ids(), result=result, at=at)
        else:
            self._failed(**self._ids(), result=result, error=error or "failed", at=at)

    @event(Succeeded)
    def _succeeded(
        self, agent_id: str, command_id: str, action: str, result: dict[str, Any], at: datetime
    ) -> None:
        self.status = CommandStatus.SUCCEEDED

    @event(Failed)
    def _failed(
        self,
        agent_id: str,
        command_id: str,
        action: str,
        result: dict[str, Any],
        error: str,
        at: datetime,
    ) -> None:
        self.status = CommandStatus.FAILED

    def expire(self, at: datetime) -> None:
        if self.final:
            raise InvalidTransition(f"a {self.status} command cannot expire")
        if at < self.expires_at:
            raise InvalidTransition("the command has not reached its expiry")
        self._expired(**self._ids(), at=at)

    @event(Expired)
    def _expired(self, agent_id: str, command_id: str, action: str, at: datetime) -> None:
        self.status = CommandStatus.EXPIRED

    def cancel(self, at: datetime) -> None:
        if self.status is not CommandStatus.QUEUED:
            raise InvalidTransition(f"a {self.status} command cannot be cancelled")
        self._cancelled(**self._ids(), at=at)

    @event(Cancelled)
    def _cancelled(self, agent_id: str, command_id: str, action: str, at: datetime) -> None:
        self.status = CommandStatus.CANCELLED


def acknowledged_event(
    command_uuid: UUID,
    version: int,
    status: CommandStatus,
    ids: dict[str, str],
    at: datetime,
) -> Command.Acknowledged:
    """The ack of a command known (from the read model) to be at `version` in `status`,
    without loading it: the same rule as `Command.acknowledge`, and the event store refuses it
    (a version conflict) if the command moved on since."""
    if status not in (CommandStatus.QUEUED, CommandStatus.DELIVERED):
        raise InvalidTransition(f"a {status} command cannot be acknowledged")
    return Command.Acknowledged(
        originator_id=command_uuid,
        originator_version=version + 1,
        timestamp=at,
        agent_id=ids["agent_id"],
        command_id=ids["command_id"],
        action=ids["action"],
        at=at,
    )
