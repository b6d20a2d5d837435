"""Hub → agent messages: dedupe by id, ack after recording, then act (commands, tasks,
drain, config, tunnel streams). Kinds this agent cannot serve are refused in the ack, never
dropped. Messages of other agents go to the inbox (`inbox.py`) before the ack: one that cannot
be stored is not acknowledged, so the hub sends it again later. A `tunnel.open` is not durable
intent (its token is one-time and short-lived): it is deduplicated in memory, so opening a
stream costs no write to the state dir."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from agentplane.agent.channel import FollowUp
from agentplane.agent.commands import NOT_SUPPORTED, Commands, unknown_command
from agentplane.agent.reach import refusal as reach_refusal
from agentplane.agent.reach import run_reach
from agentplane.agent.state import HandledIds
from agentplane.agent.tasks import TaskRunner
from agentplane.agent.tunnels import TunnelDialer
from agentplane.contracts.channel import (
    BODY_MODELS,
    ChannelAck,
    CommandBody,
    ConfigBody,
    DrainBody,
    HubKind,
    HubMessage,
    MessageBody,
    TaskCancelBody,
    TaskOfferBody,
    TunnelOpenBody,
)
from agentplane.contracts.diagnostics import ReachRequestBody
from agentplane.contracts.subjects import AgentChannel

log = logging.getLogger("agentplane.agent")


class HubDispatch:
    def __init__(
        self,
        handled: HandledIds,
        commands: Commands,
        tasks: TaskRunner,
        publish: Callable[..., Awaitable[None]],
        set_interval: Callable[[float], None],
        after_command: Callable[[str], Awaitable[None]],
        inbox: Callable[[MessageBody], None] | None = None,
        tunnels: TunnelDialer | None = None,
    ) -> None:
        self.handled = handled
        self.inbox = inbox
        self.commands = commands
        self.tasks = tasks
        self.publish = publish
        self.set_interval = set_interval
        self.after_command = after_command
        self.tunnels = tunnels

    async def __call__(self, message: HubMessage) -> tuple[ChannelAck, FollowUp]:
        if message.kind == HubKind.TUNNEL_OPEN:
            return self._tunnel(message)
        if message.kind == HubKind.REACH_REQUEST:
            return self._reach(message)
        if message.id in self.handled:
            # A resend after a lost ack: acknowledge again, do not act twice.
            return ChannelAck(message_id=message.id), None
        model = BODY_MODELS.get(message.kind)
        try:
            body = model.model_validate(message.body) if model is not None else None
        except ValidationError as exc:
            command_id = message.body.get("command_id")
            if message.kind == HubKind.COMMAND and isinstance(command_id, str) and command_id:
                # A command this agent cannot parse (e.g. a newer action) still gets a result.
                self.handled.add(message.id)
                result = unknown_command(command_id, message.body.get("action"))
                return ChannelAck(message_id=message.id), self._publisher(result)
            return self._refuse(message, f"invalid {message.kind.value} body: {exc}"), None
        if isinstance(body, MessageBody) and self.inbox is not None:
            # Stored before it is marked handled: a crash in between repeats it, never loses it.
            await asyncio.to_thread(self.inbox, body)
        # Recorded before the ack: once the hub hears "ack" a crash never runs it twice.
        self.handled.add(message.id)
        return ChannelAck(message_id=message.id), self._follow_up(message, body)

    def _tunnel(self, message: HubMessage) -> tuple[ChannelAck, FollowUp]:
        """Ack (or refuse) at once; the stream opens after the ack went out."""
        tunnels = self.tunnels
        if tunnels is None:
            return self._refuse(message, f"{message.kind.value}: {NOT_SUPPORTED}"), None
        try:
            body = TunnelOpenBody.model_validate(message.body)
        except ValidationError as exc:
            return self._refuse(message, f"invalid {message.kind.value} body: {exc}"), None
        refusal = tunnels.refusal(body)
        if refusal is not None:
            return self._refuse(message, refusal), None
        if not tunnels.first_time(body.stream_id):
            return ChannelAck(message_id=message.id), None
        return ChannelAck(message_id=message.id), lambda: tunnels.open_logged(body)

    def _reach(self, message: HubMessage) -> tuple[ChannelAck, FollowUp]:
        """Ack at once; the probe runs after the ack (a repeat just probes again)."""
        try:
            body = ReachRequestBody.model_validate(message.body)
        except ValidationError as exc:
            return self._refuse(message, f"invalid {message.kind.value} body: {exc}"), None
        allows = self.tunnels.allows if self.tunnels is not None else (lambda host, port: True)
        refused = reach_refusal(body, allows)
        if refused is not None:
            return self._refuse(message, refused), None
        return ChannelAck(message_id=message.id), lambda: run_reach(body, self.publish)

    def _refuse(self, message: HubMessage, error: str) -> ChannelAck:
        log.warning("refused hub message %s: %s", message.id, error[:200])
        return ChannelAck(message_id=message.id, accepted=False, error=error[:1000])

    def _publisher(self, result: object) -> FollowUp:
        async def send() -> None:
            await self.publish(AgentChannel.RESULT, result)

        return send

    def _follow_up(self, message: HubMessage, body: object) -> FollowUp:
        if isinstance(body, CommandBody):
            return lambda: self._command(body)
        if isinstance(body, TaskOfferBody):

            async def offer() -> None:
                await self.tasks.run(body)

            return offer
        if isinstance(body, TaskCancelBody):
            self.tasks.cancel(body.task_id)
        elif isinstance(body, ConfigBody):
            self.set_interval(body.heartbeat_interval_seconds)
        elif isinstance(body, DrainBody):
            log.info("draining: no new tasks")
            self.tasks.draining = True
        elif isinstance(body, MessageBody):
            log.info("message %s from %s received", body.message_id, body.from_agent_id)
        return None

    async def _command(self, body: CommandBody) -> None:
        log.info("command %s: %s", body.command_id, body.action.value)
        result, action = self.commands.execute(body)
        await self.publish(AgentChannel.RESULT, result)
        if action is not None:
            await self.after_command(action)
