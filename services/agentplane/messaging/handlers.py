"""The messaging service's handler table: operator requests and what agents send.

subject → (request model, use case, command | query). The use cases are the async request
flows (`flows/`): they run their own threads and wait for their publication."""

from __future__ import annotations

from agentplane.bus.host import ServiceHost
from agentplane.bus.routes import Awaiting, command, query, serve_routes
from agentplane.contracts.commands import CancelCommand, GetCommand, ListCommands, SendCommand
from agentplane.contracts.messages import (
    BroadcastMessage,
    ListMessages,
    MarkMessagesRead,
    SendMessage,
)
from agentplane.contracts.subjects import AgentChannel, Messaging
from agentplane.contracts.task_reports import (
    ClaimTasks,
    CompleteTask,
    RecordTaskLogs,
    ReportTaskProgress,
)
from agentplane.contracts.tasks import (
    CancelTask,
    CreateTask,
    GetTask,
    ListTasks,
)
from agentplane.messaging.flows.commands import CommandFlows
from agentplane.messaging.flows.messages import MessageFlows
from agentplane.messaging.flows.tasks import TaskFlows


def register_handlers(
    host: ServiceHost, commands: CommandFlows, messages: MessageFlows, tasks: TaskFlows
) -> None:
    routes = [
        command(Messaging.COMMAND_SEND, SendCommand, commands.send),
        query(Messaging.COMMAND_GET, GetCommand, commands.get),
        query(Messaging.COMMAND_LIST, ListCommands, commands.list),
        command(Messaging.COMMAND_CANCEL, CancelCommand, commands.cancel),
        command(Messaging.MESSAGE_SEND, SendMessage, messages.send),
        command(Messaging.MESSAGE_BROADCAST, BroadcastMessage, messages.broadcast),
        query(Messaging.MESSAGE_LIST, ListMessages, messages.inbox),
        command(Messaging.MESSAGE_READ, MarkMessagesRead, messages.mark_read),
        command(Messaging.TASK_CREATE, CreateTask, tasks.create),
        query(Messaging.TASK_GET, GetTask, tasks.get),
        query(Messaging.TASK_LIST, ListTasks, tasks.list),
        command(Messaging.TASK_CANCEL, CancelTask, tasks.cancel),
        command(Messaging.TASK_CLAIM, ClaimTasks, tasks.claim),
        command(Messaging.TASK_PROGRESS, ReportTaskProgress, tasks.progress),
        command(Messaging.TASK_LOG, RecordTaskLogs, tasks.logs),
        command(Messaging.TASK_COMPLETE, CompleteTask, tasks.complete),
    ]
    serve_routes(host, routes, Awaiting())


async def subscribe_agent_messages(host: ServiceHost, commands: CommandFlows) -> None:
    """What agents say on their channel takes plain subscriptions (no request model reply)."""
    nc = host.broker.connection
    hello = AgentChannel.from_any_agent(AgentChannel.HELLO)
    result = AgentChannel.from_any_agent(AgentChannel.RESULT)
    await nc.subscribe(hello, queue=host.service, cb=commands.on_hello)
    await nc.subscribe(result, queue=host.service, cb=commands.on_result)
