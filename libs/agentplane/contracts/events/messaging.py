"""The messaging service's integration events: the public form of what it records."""

from __future__ import annotations

from typing import ClassVar

from agentplane.contracts.events.public import Instant, PublicEvent


class CommandAcknowledged(PublicEvent):
    """The agent acknowledged a remote command."""

    TYPE: ClassVar[str] = "command.Acknowledged"
    agent_id: str
    command_id: str
    action: str
    at: Instant


class CommandCancelled(PublicEvent):
    """A remote command was cancelled before it finished."""

    TYPE: ClassVar[str] = "command.Cancelled"
    agent_id: str
    command_id: str
    action: str
    at: Instant


class CommandDelivered(PublicEvent):
    """A remote command was handed to the agent."""

    TYPE: ClassVar[str] = "command.Delivered"
    agent_id: str
    command_id: str
    action: str
    at: Instant


class CommandExpired(PublicEvent):
    """A remote command expired before the agent finished it."""

    TYPE: ClassVar[str] = "command.Expired"
    agent_id: str
    command_id: str
    action: str
    at: Instant


class CommandFailed(PublicEvent):
    """The agent reported a remote command as failed, with an error."""

    TYPE: ClassVar[str] = "command.Failed"
    agent_id: str
    command_id: str
    action: str
    error: str
    at: Instant


class CommandQueued(PublicEvent):
    """A remote command was queued for an agent (its params stay private)."""

    TYPE: ClassVar[str] = "command.Queued"
    workspace_id: str
    agent_id: str
    command_id: str
    action: str
    expires_at: Instant


class CommandSucceeded(PublicEvent):
    """The agent reported a remote command as done."""

    TYPE: ClassVar[str] = "command.Succeeded"
    agent_id: str
    command_id: str
    action: str
    at: Instant


class MessageCancelled(PublicEvent):
    """A message was cancelled before it was read."""

    TYPE: ClassVar[str] = "message.Cancelled"
    to_agent_id: str
    message_id: str
    at: Instant


class MessageDelivered(PublicEvent):
    """A message was delivered to its recipient agent."""

    TYPE: ClassVar[str] = "message.Delivered"
    to_agent_id: str
    message_id: str
    at: Instant


class MessageExpired(PublicEvent):
    """A message expired before it was read."""

    TYPE: ClassVar[str] = "message.Expired"
    to_agent_id: str
    message_id: str
    at: Instant


class MessageRead(PublicEvent):
    """The recipient agent read a message."""

    TYPE: ClassVar[str] = "message.Read"
    to_agent_id: str
    message_id: str
    at: Instant


class MessageSent(PublicEvent):
    """One agent sent another a message (its payload stays private)."""

    TYPE: ClassVar[str] = "message.Sent"
    workspace_id: str
    from_agent_id: str
    to_agent_id: str
    message_id: str
    channel: str | None
    type: str
    expires_at: Instant


class TaskAssigned(PublicEvent):
    """A task attempt was handed to the agent under a lease."""

    TYPE: ClassVar[str] = "task.Assigned"
    agent_id: str
    task_id: str
    attempt: int
    via: str
    lease_expires_at: Instant
    at: Instant


class TaskCancelled(PublicEvent):
    """A task was cancelled, with a reason."""

    TYPE: ClassVar[str] = "task.Cancelled"
    agent_id: str
    task_id: str
    reason: str
    at: Instant


class TaskFailed(PublicEvent):
    """The agent reported a task as failed (result and error stay private)."""

    TYPE: ClassVar[str] = "task.Failed"
    agent_id: str
    task_id: str
    at: Instant


class TaskLeaseExpired(PublicEvent):
    """The agent did not report within the lease: the task is offered again."""

    TYPE: ClassVar[str] = "task.LeaseExpired"
    agent_id: str
    task_id: str
    attempt: int
    at: Instant


class TaskLogsRecorded(PublicEvent):
    """The agent sent log lines for a task (the lines stay private)."""

    TYPE: ClassVar[str] = "task.LogsRecorded"
    agent_id: str
    task_id: str
    at: Instant


class TaskProgressReported(PublicEvent):
    """The agent reported progress on a task (the figures stay private)."""

    TYPE: ClassVar[str] = "task.ProgressReported"
    agent_id: str
    task_id: str
    at: Instant


class TaskQueued(PublicEvent):
    """A task was queued for an agent (its payload stays private)."""

    TYPE: ClassVar[str] = "task.Queued"
    workspace_id: str
    agent_id: str
    task_id: str
    task_type: str
    priority: int
    timeout_seconds: int
    max_attempts: int
    has_credentials: bool


class TaskSucceeded(PublicEvent):
    """The agent reported a task as done (its result stays private)."""

    TYPE: ClassVar[str] = "task.Succeeded"
    agent_id: str
    task_id: str
    at: Instant


class TaskTimedOut(PublicEvent):
    """A task used up its attempts without finishing."""

    TYPE: ClassVar[str] = "task.TimedOut"
    agent_id: str
    task_id: str
    attempts: int
    at: Instant
