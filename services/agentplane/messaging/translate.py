"""The messaging service's recorded events → their public, typed integration events.

The only module that knows both: domain classes on the left, contracts on the right. A new
recorded event needs a row here (tests/contracts checks every one has).
"""

from __future__ import annotations

from agentplane.contracts.events import messaging as public
from agentplane.eventstore.integration import Translator
from agentplane.messaging.domain.command import Command
from agentplane.messaging.domain.message import Message
from agentplane.messaging.domain.task import Task

TRANSLATOR = Translator(
    {
        Command.Acknowledged: public.CommandAcknowledged,
        Command.Cancelled: public.CommandCancelled,
        Command.Delivered: public.CommandDelivered,
        Command.Expired: public.CommandExpired,
        Command.Failed: public.CommandFailed,
        Command.Queued: public.CommandQueued,
        Command.Succeeded: public.CommandSucceeded,
        Message.Cancelled: public.MessageCancelled,
        Message.Delivered: public.MessageDelivered,
        Message.Expired: public.MessageExpired,
        Message.Read: public.MessageRead,
        Message.Sent: public.MessageSent,
        Task.Assigned: public.TaskAssigned,
        Task.Cancelled: public.TaskCancelled,
        Task.Failed: public.TaskFailed,
        Task.LeaseExpired: public.TaskLeaseExpired,
        Task.LogsRecorded: public.TaskLogsRecorded,
        Task.ProgressReported: public.TaskProgressReported,
        Task.Queued: public.TaskQueued,
        Task.Succeeded: public.TaskSucceeded,
        Task.TimedOut: public.TaskTimedOut,
    }
)
