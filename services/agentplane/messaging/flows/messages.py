"""Message requests: check the agents with the registry, record, answer, deliver later."""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from pydantic import BaseModel

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import AgentList, AgentRecord, ListAgents
from agentplane.contracts.messages import (
    BroadcastMessage,
    ListMessages,
    MarkMessagesRead,
    SendMessage,
)
from agentplane.contracts.paging import PAGE_MAX
from agentplane.contracts.subjects import Registry
from agentplane.messaging.delivery import Deliverer
from agentplane.messaging.known_agents import KnownAgents
from agentplane.messaging.messages import Messages
from agentplane.messaging.thread_batches import ThreadBatches

log = logging.getLogger("agentplane.messaging.messages")


def _live(agent: AgentRecord) -> bool:
    return not agent.deleted and agent.terminated_at is None


class MessageFlows:
    """A request → its use case → the answer; delivery is started, never awaited.

    A message change is answered once it is committed, not once its events are on the stream:
    no other service consumes message events (the audit does not: docs/audit-log.md), and the
    outbox relay publishes every committed event, after a crash too. So a send is not held
    back by the publication's round trip, nor failed by a stream that is slow to take it.
    """

    def __init__(
        self,
        messages: Messages,
        bus: BusClient,
        deliverer: Deliverer,
        known: KnownAgents,
        *,
        record_on_loop: bool = False,
    ) -> None:
        self.messages = messages
        self.bus = bus
        self.deliverer = deliverer
        self.known = known
        # Concurrent sends are recorded together, one transaction a batch (on the loop itself
        # with a local store: thread_batches.py).
        self.sends = ThreadBatches(messages.send_many, on_loop=record_on_loop)

    async def _agent(self, workspace_id: str, agent_id: UUID) -> None:
        # not_found for an unknown agent or another workspace's, before anything is recorded.
        await self.known.confirm(workspace_id, agent_id)

    async def send(self, cmd: SendMessage) -> BaseModel:
        # not_found for an unknown agent or another workspace's, before anything is recorded.
        await self.known.confirm_all(cmd.workspace_id, cmd.from_agent_id, cmd.to_agent_id)
        sent = await self.sends.submit(
            (cmd.workspace_id, cmd.from_agent_id, cmd.to_agent_id, cmd.message)
        )
        self.deliverer.soon(str(cmd.to_agent_id))
        return sent

    async def broadcast(self, cmd: BroadcastMessage) -> BaseModel:
        await self._agent(cmd.workspace_id, cmd.from_agent_id)
        sender = str(cmd.from_agent_id)
        recipients: list[str] = []
        after: str | None = None
        while True:
            # The registry answers a page at a time: no reply grows with the fleet.
            query = ListAgents(workspace_id=cmd.workspace_id, after=after, limit=PAGE_MAX)
            page = AgentList.model_validate(await self.bus.request(Registry.AGENT_LIST, query))
            recipients += [str(a.id) for a in page.agents if _live(a) and str(a.id) != sender]
            if (after := page.next_after) is None:
                break
        sent = await asyncio.to_thread(
            self.messages.broadcast, cmd.workspace_id, cmd.from_agent_id, recipients, cmd.message
        )
        for recipient in recipients:
            self.deliverer.soon(recipient)
        return sent

    async def inbox(self, query: ListMessages) -> BaseModel:
        await self._agent(query.workspace_id, query.agent_id)
        return await asyncio.to_thread(self.messages.inbox, query)

    async def mark_read(self, cmd: MarkMessagesRead) -> BaseModel:
        await self._agent(cmd.workspace_id, cmd.agent_id)
        return await asyncio.to_thread(self.messages.mark_read, cmd)
