"""Delivery of commands and messages over the agent channel: an attempt that may repeat,
never the intent.

A command is sent as a NATS request on the agent's inbox. NoResponders means no channel of
the agent is connected: the command stays queued until the agent says hello. A reply is the
agent's acknowledgement. A timeout means it may have arrived: the command counts as delivered
and is sent again later; the agent drops repeats by id. One agent's commands go out oldest
first in windows: a window's requests are published in order on one connection (so they
arrive in the order sent) and their acks awaited together; an unanswered one holds back the
next window until the retry. (An agent that drops one request of a window without
disconnecting sees the rest of that window before the retry.) Messages follow the agent's
commands the same way; an acknowledged message is recorded as delivered (it stays in the
inbox until read or expired).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import ValidationError

from agentplane.contracts.channel import ChannelAck, CommandOutcome, CommandResult, HubMessage
from agentplane.contracts.messages import MessageView
from agentplane.contracts.subjects import AgentChannel
from agentplane.eventstore.relay import OutboxRelay
from agentplane.messaging.application import Commands, Position
from agentplane.messaging.first_pages import FirstPage
from agentplane.messaging.hub_messages import hub_message, message_hub_message
from agentplane.messaging.messages import Messages

log = logging.getLogger("agentplane.messaging.delivery")

ACK_TIMEOUT = 2.0
# Hub messages in flight to one agent at once (sent in order, acks awaited together); the
# first one goes alone, so an agent that is not connected costs one request, not a window.
WINDOW = 500
# A send does not try an agent nobody listened for this recently (its hello will).
ABSENT_SECONDS = 5.0
MAX_ABSENT = 100_000


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
        self._absent: dict[str, float] = {}
        # Agents with a background delivery that has not started reading their queues yet.
        self._waiting: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # Per agent, bumped when a delivery takes its lock: a `FirstPage` read while none ran
        # (nor was out when it began) is what that delivery's own first read would return.
        self._generations: dict[str, int] = {}

    async def _record(self, step: Callable[..., int], *args: object) -> None:
        # The commit hands its events to the relay itself (Commands.recorded_hooks): no wake,
        # which would make the relay read the log back for them.
        await asyncio.to_thread(step, *args)

    def first_page_generation(self, agent_id: str) -> int | None:
        """Where a `FirstPage` read now would stand; None when `soon` would not use it (the
        agent is absent, or a delivery to it is out or queued)."""
        lock = self._locks.get(agent_id)
        if self._absent_now(agent_id) or agent_id in self._waiting or (lock and lock.locked()):
            return None
        return self._generations.get(agent_id, 0)

    def _absent_now(self, agent_id: str) -> bool:
        return time.monotonic() - self._absent.get(agent_id, -ABSENT_SECONDS) < ABSENT_SECONDS

    def soon(self, agent_id: str, *, hello: bool = False, first: FirstPage | None = None) -> None:
        """Deliver in the background (the caller answers without waiting for the agent).

        An agent nobody listened for a moment ago is not tried again on every send: its hello
        (or the periodic retry) delivers what waits. Nor is a second delivery queued behind one
        that has not started reading yet: that one reads after this item was recorded, so it
        takes it too (a burst of sends to one agent costs one pass, not one each).
        """
        if hello:
            self._absent.pop(agent_id, None)
        elif self._absent_now(agent_id):
            return
        if agent_id in self._waiting:
            return
        self._waiting.add(agent_id)
        task = asyncio.create_task(self.deliver(agent_id, waiting=True, first=first))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(
        self, agent_id: str, *, waiting: bool = False, first: FirstPage | None = None
    ) -> int:
        """Send everything pending for the agent; return how many it acknowledged.

        The queue is read a window at a time (the first window is one item: an agent that is
        not connected costs one request and one row). A window's acks are recorded while the
        next window is out; all are recorded before this returns. `waiting`: the agent's
        entry in `_waiting` (this delivery's) ends when it starts reading. `first`: its first
        page, already read, unless another delivery ran since.
        """
        lock = self._locks.setdefault(agent_id, asyncio.Lock())
        started = False
        try:
            async with lock:
                started = True
                if waiting:
                    self._waiting.discard(agent_id)
                generation = self._generations.get(agent_id, 0)
                if first is not None and first.generation != generation:
                    first = None
                self._generations[agent_id] = generation + 1
                recording: list[asyncio.Task[None]] = []
                try:
                    return await self._deliver(agent_id, recording, first)
                finally:
                    if recording:
                        await asyncio.gather(*recording)
        finally:
            if waiting and not started:  # cancelled while it waited for the lock
                self._waiting.discard(agent_id)

    async def _deliver(
        self, agent_id: str, recording: list[asyncio.Task[None]], first: FirstPage | None
    ) -> int:
        acknowledged = 0
        after: Position | None = None
        size = 1
        while True:
            if first is not None:
                commands, after, first = first.commands, first.after, None
            else:
                commands, after = await asyncio.to_thread(
                    self.commands.pending_page, agent_id, after, size
                )
            if not commands:
                break
            count, complete = await self._command_window(agent_id, commands, recording)
            acknowledged += count
            if not complete:
                return acknowledged
            if after is None:
                break
            size = WINDOW
        if self.messages is None:
            return acknowledged
        after, size = None, 1
        while True:
            messages, after = await asyncio.to_thread(
                self.messages.undelivered_page, agent_id, after, size
            )
            if not messages:
                break
            count, complete = await self._message_window(agent_id, messages, recording)
            acknowledged += count
            if not complete or after is None:
                break
            size = WINDOW
        return acknowledged

    def _record_soon(
        self, recording: list[asyncio.Task[None]], step: Callable[..., int], *args: object
    ) -> None:
        # At most one window's record in flight: the next one waits for it (a backlog is
        # recorded as fast as the store takes it, never piling up unrecorded acks).
        previous = recording[-1] if recording else None

        async def record() -> None:
            if previous is not None:
                await asyncio.shield(previous)
            await self._record(step, *args)

        recording.append(asyncio.create_task(record()))

    async def _window(
        self, agent_id: str, hubs: list[HubMessage]
    ) -> list[ChannelAck | bool | None]:
        # Requests go out in order on one connection (NATS keeps a publisher's order), and
        # their acks are awaited together: a backlog costs round trips per window, not per item.
        answers = list(await asyncio.gather(*(self._request(agent_id, h) for h in hubs)))
        if any(a is None for a in answers):
            if len(self._absent) >= MAX_ABSENT:
                self._absent.clear()  # only a shortcut: forgetting costs one probe each
            self._absent[agent_id] = time.monotonic()
        return answers

    async def _command_window(
        self, agent_id: str, window: list[dict[str, Any]], recording: list[asyncio.Task[None]]
    ) -> tuple[int, bool]:
        """(acknowledged, everything answered): an unanswered one holds back the next window."""
        answers = await self._window(agent_id, [hub_message(c) for c in window])
        acked: list[str] = []
        complete = True
        for command, ack in zip(window, answers, strict=True):
            command_id = command["command_id"]
            if ack is None:
                complete = False  # nobody listens: the rest waits for the agent's hello
            elif ack is False:
                complete = False
                await self._record(self.commands.delivered, command_id)
            elif not ack.accepted:
                await self._refused(agent_id, command_id, ack)
            else:
                acked.append(command_id)
        if acked:
            self._record_soon(recording, self.commands.acknowledged_many, acked)
        return len(acked), complete

    async def _message_window(
        self, agent_id: str, window: list[MessageView], recording: list[asyncio.Task[None]]
    ) -> tuple[int, bool]:
        assert self.messages is not None
        answers = await self._window(agent_id, [message_hub_message(m) for m in window])
        heard = [
            m.message_id
            for m, ack in zip(window, answers, strict=True)
            if isinstance(ack, ChannelAck)
        ]
        for message, ack in zip(window, answers, strict=True):
            if isinstance(ack, ChannelAck) and not ack.accepted:
                # Still delivered: the agent heard it (it can read it from its inbox too).
                log.info("agent %s refused message %s: %s", agent_id, message.message_id, ack.error)
        if heard:
            self._record_soon(recording, self.messages.delivered_many, heard)
        return len(heard), len(heard) == len(window)

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

    async def _refused(self, agent_id: str, command_id: str, ack: ChannelAck) -> None:
        # The agent will not run it (unknown kind, invalid body): that is its result.
        log.info("agent %s refused %s: %s", agent_id, command_id, ack.error)
        refused = CommandResult(
            command_id=command_id,
            outcome=CommandOutcome.FAILED,
            error=f"refused by the agent: {ack.error or 'no reason given'}",
            finished_at=datetime.now(UTC),
        )
        await self._record(self.commands.finished, agent_id, refused)

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
