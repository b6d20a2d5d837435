"""Remote commands: check the agent with the registry, record, answer, deliver later; what the
agent channel says (hello, command results)."""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from nats.aio.msg import Msg
from pydantic import BaseModel, ValidationError

from agentplane.bus.requests import BusClient
from agentplane.contracts.channel import (
    AgentHello,
    ChannelWelcome,
    CommandAction,
    CommandResult,
)
from agentplane.contracts.commands import (
    AgentDialect,
    AgentDialectQuery,
    CancelCommand,
    CommandAccepted,
    CommandView,
    ExposeParams,
    GetCommand,
    ListCommands,
    SendCommand,
)
from agentplane.contracts.errors import ErrorBody, ErrorKind, ServiceError, invalid
from agentplane.contracts.liveness import LivenessQuery, LivenessReport
from agentplane.contracts.reply import Reply
from agentplane.contracts.services import RegisterService, ServiceRecord
from agentplane.contracts.subjects import AgentChannel, Heartbeat, Registry
from agentplane.eventstore.relay import OutboxRelay
from agentplane.messaging.application import Commands
from agentplane.messaging.delivery import Deliverer
from agentplane.messaging.first_pages import FirstPage
from agentplane.messaging.known_agents import KnownAgents
from agentplane.settings import MessagingSettings

# Well inside the gateway's request timeout (5 s by default): the answer must arrive.
PUBLISH_WAIT_SECONDS = 2.0

log = logging.getLogger("agentplane.messaging")


class CommandFlows:
    """A request → its use case (in a thread) → the answer; delivery is started, never awaited."""

    def __init__(
        self,
        commands: Commands,
        bus: BusClient,
        relay: OutboxRelay,
        deliverer: Deliverer,
        settings: MessagingSettings,
        known: KnownAgents,
    ) -> None:
        self.commands = commands
        self.bus = bus
        self.relay = relay
        self.deliverer = deliverer
        self.settings = settings
        self.known = known

    async def published(self, position: int) -> None:
        # The audit log shows the command once this returns; a slow stream delays that, but
        # the command is saved and will be published: never reported as failed.
        if position and not await self.relay.wait_published(position, PUBLISH_WAIT_SECONDS):
            log.warning("events up to %d are saved but not yet published", position)

    async def _online(self, agent_id: UUID) -> bool:
        try:
            data = await self.bus.request(
                Heartbeat.LIVENESS_QUERY, LivenessQuery(agent_ids=[agent_id])
            )
        except ServiceError as exc:
            log.warning("liveness of %s unknown: %s", agent_id, exc.body.message)
            return False
        liveness = LivenessReport.model_validate(data).agents.get(str(agent_id))
        return bool(liveness and liveness.online)

    async def send(self, cmd: SendCommand) -> BaseModel:
        # 404 for an unknown agent or another workspace's, before anything is recorded (an
        # agent the registry confirmed a moment ago is not asked about again, as for messages).
        await self.known.confirm(cmd.workspace_id, cmd.agent_id)
        if cmd.action == CommandAction.EXPOSE:
            cmd = await self._exposed(cmd)
        agent_id = str(cmd.agent_id)
        generation = self.deliverer.first_page_generation(agent_id)
        view, replayed, position, first = await asyncio.to_thread(
            self._record, cmd, generation
        )
        self.deliverer.soon(agent_id, first=first)
        await self.published(position)
        online = await self._online(cmd.agent_id)
        return CommandAccepted(command=view, agent_online=online, replayed=replayed)

    def _record(
        self, cmd: SendCommand, generation: int | None
    ) -> tuple[CommandView, bool, int, FirstPage | None]:
        """The command recorded and, unless a delivery to the agent is already under way or
        it is absent (`generation` None), the agent's first queue page read in the same
        thread: the delivery starts sending without another hop (under CPU contention each
        hop is a wait to be scheduled)."""
        view, replayed, position = self.commands.send(cmd)
        if generation is None:
            return view, replayed, position, None
        page, after = self.commands.pending_page(str(cmd.agent_id), None, 1)
        return view, replayed, position, FirstPage(generation, page, after)

    async def _exposed(self, cmd: SendCommand) -> SendCommand:
        """An `expose` registers its service in the catalog first (seed 001 rules: 400, 409),
        so the agent gets the service's id and tunnel port with the command."""
        try:
            params = ExposeParams.model_validate(cmd.params)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise invalid(f"expose params: {problems}", field="params") from None
        record = ServiceRecord.model_validate(
            await self.bus.request(
                Registry.SERVICE_REGISTER,
                RegisterService(
                    workspace_id=cmd.workspace_id,
                    agent_id=cmd.agent_id,
                    name=params.name,
                    target_host=params.target_host,
                    target_port=params.target_port,
                    protocol=params.protocol,
                    is_public=params.is_public,
                ),
            )
        )
        exposed = {
            **params.model_dump(by_alias=True, mode="json"),
            "protocol": record.protocol.value,
            "serviceId": record.id,
            "tunnelPort": record.tunnel_port,
        }
        return cmd.model_copy(update={"params": exposed})

    async def get(self, query: GetCommand) -> BaseModel:
        return await asyncio.to_thread(self.commands.get, query)

    async def list(self, query: ListCommands) -> BaseModel:
        return await asyncio.to_thread(self.commands.list, query)

    async def cancel(self, cmd: CancelCommand) -> BaseModel:
        view, position = await asyncio.to_thread(self.commands.cancel, cmd)
        await self.published(position)
        return view

    async def on_hello(self, msg: Msg) -> None:
        """An agent's channel (re)connected: tell it its interval, then resend what waits."""
        agent_id = AgentChannel.agent_of(msg.subject)
        try:
            AgentHello.model_validate_json(msg.data or b"{}")
            data = await self.bus.request(
                Registry.AGENT_DIALECT, AgentDialectQuery(agent_id=UUID(agent_id))
            )
            dialect = AgentDialect.model_validate(data)
            pending = await asyncio.to_thread(self.commands.pending_count, agent_id)
            welcome = ChannelWelcome(
                agent_id=dialect.agent_id,
                heartbeat_interval_seconds=self.settings.heartbeat_interval_of(dialect.dialect),
                pending=pending,
            )
            reply = Reply.success(welcome)
        except (ValidationError, ValueError):
            reply = Reply.failure(ErrorBody(kind=ErrorKind.VALIDATION, message="invalid hello"))
        except ServiceError as exc:
            reply = Reply.failure(exc.body)
        if msg.reply:
            await msg.respond(reply.model_dump_json().encode())
        if reply.ok:
            self.deliverer.soon(agent_id, hello=True)

    async def on_result(self, msg: Msg) -> None:
        agent_id = AgentChannel.agent_of(msg.subject)
        try:
            result = CommandResult.model_validate_json(msg.data)
        except ValidationError:
            log.warning("agent %s sent an invalid command result", agent_id)
            return
        try:
            position = await asyncio.to_thread(self.commands.finished, agent_id, result)
        except ServiceError:
            return  # not a command of ours: nothing to record
        if position:
            self.relay.wake()
