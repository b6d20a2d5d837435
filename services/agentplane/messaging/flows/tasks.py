"""Task requests: check the agent with the registry, record, answer; tell open task streams.

Task streams (the gateway's seed 002 WebSockets) listen on `Messaging.task_notices(agent)`
for `TaskNotice`s: "available" (claim what is pending) and "cancelled". Notices carry no task
content; a lost one is made up for by the stream's periodic claim.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from pydantic import BaseModel

from agentplane.contracts.subjects import Messaging
from agentplane.contracts.task_reports import (
    ClaimTasks,
    CompleteTask,
    RecordTaskLogs,
    ReportTaskProgress,
    TaskNotice,
)
from agentplane.contracts.tasks import (
    CancelTask,
    CreateTask,
    GetTask,
    ListTasks,
)
from agentplane.eventstore.relay import OutboxRelay
from agentplane.messaging.known_agents import KnownAgents
from agentplane.messaging.tasks import Tasks

log = logging.getLogger("agentplane.messaging.tasks")
EXPIRY_PERIOD_SECONDS = 1.0


class TaskFlows:
    """Message → use case → reply."""

    def __init__(
        self,
        tasks: Tasks,
        nc: Client,
        relay: OutboxRelay,
        published: Callable[[int], Awaitable[None]],
        known: KnownAgents,
    ) -> None:
        self.tasks = tasks
        self.nc = nc
        self.relay = relay
        self.published = published
        self.known = known

    async def notify(self, agent_id: str, kind: str, task_id: str | None = None) -> None:
        notice = TaskNotice.model_validate({"agent_id": agent_id, "kind": kind, "task_id": task_id})
        try:
            await self.nc.publish(
                Messaging.task_notices(agent_id), notice.model_dump_json().encode()
            )
        except Exception:  # a stream's periodic claim makes up for a lost notice
            log.warning("task notice for agent %s not published", agent_id)

    def _wake(self, position: int) -> None:
        if position:
            self.relay.wake()

    # -- operator --------------------------------------------------------------------------

    async def create(self, cmd: CreateTask) -> BaseModel:
        # not_found for an unknown agent or another workspace's, before anything is recorded.
        await self.known.confirm(cmd.workspace_id, cmd.agent_id)
        created, position = await asyncio.to_thread(self.tasks.create, cmd)
        if not created.replayed:
            await self.notify(str(cmd.agent_id), "available")
        await self.published(position)
        return created

    async def get(self, query: GetTask) -> BaseModel:
        return await asyncio.to_thread(self.tasks.get, query)

    async def list(self, query: ListTasks) -> BaseModel:
        await self.known.confirm(query.workspace_id, query.agent_id)
        return await asyncio.to_thread(self.tasks.list, query)

    async def cancel(self, cmd: CancelTask) -> BaseModel:
        view, position = await asyncio.to_thread(self.tasks.cancel, cmd)
        await self.notify(str(cmd.agent_id), "cancelled", view.task_id)
        await self.published(position)
        return view

    # -- agent -----------------------------------------------------------------------------

    async def claim(self, cmd: ClaimTasks) -> BaseModel:
        assignments, position = await asyncio.to_thread(self.tasks.claim, cmd)
        self._wake(position)
        return assignments

    async def progress(self, cmd: ReportTaskProgress) -> BaseModel:
        accepted, position = await asyncio.to_thread(self.tasks.progress, cmd)
        self._wake(position)
        return accepted

    async def logs(self, cmd: RecordTaskLogs) -> BaseModel:
        accepted, position = await asyncio.to_thread(self.tasks.logs, cmd)
        self._wake(position)
        return accepted

    async def complete(self, cmd: CompleteTask) -> BaseModel:
        accepted, position = await asyncio.to_thread(self.tasks.complete, cmd)
        await self.published(position)
        return accepted

    # -- timers and the registry -----------------------------------------------------------

    async def expire_forever(self, period: float = EXPIRY_PERIOD_SECONDS) -> None:
        """End due leases; streams of agents whose task is offered again hear of it."""
        while True:
            await asyncio.sleep(period)
            try:
                offered, position = await asyncio.to_thread(self.tasks.expire_due)
                self._wake(position)
                for task_id in offered:
                    agent_id = await asyncio.to_thread(self.tasks.agent_of, task_id)
                    if agent_id:
                        await self.notify(agent_id, "available")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("task lease expiry failed; retrying")

    async def cancel_tasks_of_agent(self, agent_id: str) -> int:
        """The agent was deleted or terminated: its open tasks end as cancelled (idempotent:
        a redelivered registry event finds none open)."""
        cancelled, position = await asyncio.to_thread(self.tasks.cancel_open_of, agent_id)
        self._wake(position)
        for task_id in cancelled:
            await self.notify(agent_id, "cancelled", task_id)
        if cancelled:
            log.info("%d open task(s) of agent %s cancelled", len(cancelled), agent_id)
        return len(cancelled)
