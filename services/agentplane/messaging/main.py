"""Composition root of the messaging service: remote commands and agent messages, delivered
over the agent channel."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import uvloop

from agentplane.bus.host import ServiceHost, configure_logging
from agentplane.bus.requests import BusClient
from agentplane.eventstore.relay import OutboxRelay
from agentplane.eventstore.views import ViewStore, open_view_store
from agentplane.messaging.application import Commands, MessagingStore
from agentplane.messaging.delivery import Deliverer
from agentplane.messaging.flows.commands import CommandFlows
from agentplane.messaging.flows.messages import MessageFlows
from agentplane.messaging.flows.tasks import TaskFlows
from agentplane.messaging.handlers import register_handlers, subscribe_agent_messages
from agentplane.messaging.known_agents import KnownAgents
from agentplane.messaging.messages import Messages
from agentplane.messaging.registry_events import subscribe_registry_events
from agentplane.messaging.task_credentials import CredentialVault
from agentplane.messaging.tasks import Tasks
from agentplane.security.nats_credentials import service_credential
from agentplane.settings import MessagingSettings


@dataclass
class MessagingService:
    host: ServiceHost
    commands: Commands
    messages: Messages
    tasks: Tasks


def build_commands(settings: MessagingSettings, views: ViewStore | None = None) -> Commands:
    store = MessagingStore.from_settings(settings)
    return Commands(store, views or open_view_store(settings, "messaging"))  # type: ignore[arg-type]


def build(settings: MessagingSettings) -> MessagingService:
    assert settings.nats_url, "NATS_URL is required"
    host = ServiceHost("messaging", settings.nats_url, service_credential(settings))
    commands = build_commands(settings)
    # Messages share the commands' store, group commit and projection (one log).
    messages = Messages(commands.store, commands.views, commands.committer, commands.projector)
    tasks = Tasks(
        commands.store, commands.views, commands.committer, commands.projector,
        CredentialVault(settings.service_data_dir() / "task-credentials"),
    )  # fmt: skip

    async def start() -> None:
        nc = host.broker.connection
        relay = OutboxRelay(commands.store, nc.jetstream(), commands.views)
        await relay.start()
        commands.recorded_hooks.append(relay.offer)
        bus = BusClient(nc, settings.request_timeout)
        # A view built by an older projection version is rebuilt from the log first.
        await asyncio.to_thread(commands.projector.migrate)
        await asyncio.to_thread(commands.load_timers)
        await asyncio.to_thread(messages.load_timers)
        await asyncio.to_thread(tasks.start)
        deliverer = Deliverer(nc, commands, relay, messages)
        known = KnownAgents(bus)
        command_flows = CommandFlows(commands, bus, relay, deliverer, settings, known)
        # A batch of sends on SQLite is Python work and a local fsync: recorded on the loop.
        message_flows = MessageFlows(
            messages, bus, deliverer, known, record_on_loop=settings.event_store != "postgres"
        )
        task_flows = TaskFlows(tasks, nc, relay, command_flows.published, known)
        register_handlers(host, command_flows, message_flows, task_flows)
        await subscribe_agent_messages(host, command_flows)
        subscribe_registry_events(
            host, commands, relay, known, messages, also=[task_flows.cancel_tasks_of_agent]
        )
        host.loop(relay.run)
        host.loop(commands.projector.run)
        host.loop(deliverer.retry_forever)
        host.loop(deliverer.expire_forever)
        host.loop(task_flows.expire_forever)

    host.on_start(start)
    return MessagingService(host=host, commands=commands, messages=messages, tasks=tasks)


def main() -> None:
    settings = MessagingSettings()
    configure_logging(settings.log_level)
    # uvloop: the loop's own work per message (callbacks, timers, socket I/O) runs in C.
    uvloop.run(build(settings).host.serve())


if __name__ == "__main__":
    main()
