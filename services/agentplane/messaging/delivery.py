"""Delivery of commands and messages over the agent channel: an attempt that may repeat,
never the intent.

A command is sent as a NATS request on the agent's inbox. NoResponders means no channel of
the agent is connected: the command stays queued until the agent says hello. A reply is the
agent's acknowledgement. A timeout means it may have arrived: the command counts as delivered
and is sent again later; the agent drops repeats by id. One agent's commands go out one at a
time, oldest first, and an unanswered one holds back the later ones until the retry: they
arrive in the order they were sent. Messages follow the agent's commands the same way; an
acknowledged message is recorded as delivered (it stays in the inbox until read or expired).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import ValidationError

from agentplane.contracts.channel import (
    ChannelAck,
    CommandBody,
    CommandOutcome,
    CommandResult,
    HubKind,
    HubMessage,
    MessageBody,
)
from agentplane.contracts.commands import CommandView
from agentplane.contracts.messages import MessageView
from agentplane.contracts.subjects import AgentChannel
from agentplane.eventstore.relay import OutboxRelay
from agentplane.messaging.application import Commands
from agentplane.messaging.messages import Messages

log = logging.getLogger("agentplane.messaging.delivery")

ACK_TIMEOUT = 2.0


def hub_message(command: CommandView) -> HubMessage:
    body = CommandBody(
        command_id=command.command_id,
        action=command.action,
        params=command.params or {},
        expires_at=command.expires_at,
    )
    return HubMessage(
        id=command.command_id,
        kind=HubKind.COMMAND,
        sent_at=datetime.now(UTC),
        body=body.model_dump(mode="json"),
    )


def message_hub_message(message: MessageView) -> HubMessage:
    body = MessageBody(
        message_id=message.message_id,
        from_agent_id=message.from_agent_id,
        channel=message.channel,
        type=message.type.value,
        payload=message.payload,
        correlation_id=message.correlation_id,
        created_at=message.created_at,
        expires_at=message.expires_at,
    )
    return HubMessage(
        id=message.message_id,
        kind=HubKind.MESSAGE,
        sent_at=datetime.now(UTC),
        body=body.model_dump(mode="json"),
    )


class Deliverer:
    """Sends each agent's pending commands, one agent's at a time, in order."""

    def __init__(
        self,
        nc: Client,
        commands: Commands,
        relay: OutboxRelay | None,
        messages: Messages | None = None,
    ) -> None:
        self.nc = nc
        self.commands = commands
        self.messages = messages
        self.relay = relay
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def _record(self, step: Callable[..., int], *args: object) -> None:
        position = await asyncio.to_thread(step, *args)
        if position and self.relay is not None:
            self.relay.wake()

    def soon(self, agent_id: str) -> None:
        """Deliver in the background (the caller answers without waiting for the agent)."""
        task = asyncio.create_task(self.deliver(agent_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, agent_id: str) -> int:
        """Send everything pending for the agent; return how many it acknowledged."""
        lock = self._locks.setdefault(agent_id, asyncio.Lock())
        acknowledged = 0
        async with lock:
            pending = await asyncio.to_thread(self.commands.pending, agent_id)
            for command in pending:
                # Not connected (None): the rest waits for its hello. Unanswered (False): the
                # rest waits for the retry, so no later command overtakes this one.
                if not await self._send(agent_id, command):
                    return acknowledged
                acknowledged += 1
            if self.messages is not None:
                waiting = await asyncio.to_thread(self.messages.undelivered, agent_id)
                for message in waiting:
                    if not await self._send_message(agent_id, message):
                        break
                    acknowledged += 1
        return acknowledged

    async def _request(self, agent_id: str, hub: HubMessage) -> ChannelAck | bool | None:
        """The agent's ack; False when it may have arrived unanswered; None when nobody listens."""
        data = hub.model_dump_json().encode()
        try:
            reply = await self.nc.request(AgentChannel.inbox(agent_id), data, timeout=ACK_TIMEOUT)
        except NoRespondersError:
            return None
        except NatsTimeout:
            return False
        try:
            return ChannelAck.model_validate_json(reply.data)
        except ValidationError:
            log.warning("agent %s sent an invalid ack for %s", agent_id, hub.id)
            return False

    async def _send_message(self, agent_id: str, message: MessageView) -> bool | None:
        assert self.messages is not None
        ack = await self._request(agent_id, message_hub_message(message))
        if not isinstance(ack, ChannelAck):
            return ack
        if not ack.accepted:
            # Still delivered: the agent heard it (it can read it from its inbox too).
            log.info("agent %s refused message %s: %s", agent_id, message.message_id, ack.error)
        await self._record(self.messages.delivered, message.message_id)
        return True

    async def _send(self, agent_id: str, command: CommandView) -> bool | None:
        """True when acknowledged, False when it may have arrived, None when nobody listens."""
        ack = await self._request(agent_id, hub_message(command))
        if not isinstance(ack, ChannelAck):
            if ack is False:
                await self._record(self.commands.delivered, command.command_id)
            return ack
        if not ack.accepted:
            # The agent will not run it (unknown kind, invalid body): that is its result.
            log.info("agent %s refused %s: %s", agent_id, command.command_id, ack.error)
            refused = CommandResult(
                command_id=command.command_id,
                outcome=CommandOutcome.FAILED,
                error=f"refused by the agent: {ack.error or 'no reason given'}",
                finished_at=datetime.now(UTC),
            )
            await self._record(self.commands.finished, agent_id, refused)
            return True
        await self._record(self.commands.acknowledged, command.command_id)
        return True

    async def retry_forever(self, period: float = 5.0) -> None:
        """Resend what is pending (unacknowledged deliveries, agents that came back)."""
        while True:
            await asyncio.sleep(period)
            try:
                agents = await asyncio.to_thread(self.commands.agents_with_pending)
                if self.messages is not None:
                    agents |= await asyncio.to_thread(self.messages.agents_with_undelivered)
                await asyncio.gather(*(self.deliver(a) for a in agents))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("command redelivery failed; retrying")

    async def expire_forever(self, period: float = 1.0) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                position = await asyncio.to_thread(self.commands.expire_due)
                if self.messages is not None:
                    position = max(position, await asyncio.to_thread(self.messages.expire_due))
                if position and self.relay:
                    self.relay.wake()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("command expiry failed; retrying")
