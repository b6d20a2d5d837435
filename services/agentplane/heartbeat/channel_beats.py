"""Heartbeats over the agent channel: `ap.agent.<id>.hb` from an authenticated agent.

The subject is the agent's identity: NATS permissions let only that agent (or a service, such
as the gateway relaying a WebSocket `hb` frame) publish there, so no token is checked. What
is checked is that the agent exists — the registry is asked once per agent, and its dialect
gives the deadline (seed 000, 003 and 002 intervals times missed beats). The beat then becomes a
`RecordBeat` on the same path the HTTP dialects use, which routes it to the owner of the
agent's partition and keeps its system metrics on the telemetry channel.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import ValidationError

from agentplane.bus.requests import BusClient
from agentplane.contracts.channel import ChannelBeat
from agentplane.contracts.commands import AgentDialect, AgentDialectQuery
from agentplane.contracts.errors import ErrorBody, ErrorKind, ServiceError
from agentplane.contracts.liveness import RecordBeat
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import AgentChannel, Heartbeat, Registry
from agentplane.heartbeat.known_agents import KnownAgents

log = logging.getLogger("agentplane.heartbeat.channel")

MAX_CHANNEL_BEAT_BYTES = 16 * 1024
UNKNOWN_AGENT = "Agent not found"


class ChannelBeats:
    """Turns channel beats of existing agents into `RecordBeat`s with their dialect's deadline."""

    def __init__(
        self,
        nc: Client,
        bus: BusClient,
        deadline_of: Callable[[str], float],
        clock: Callable[[], float] = time.monotonic,
        concurrent_lookups: int = 32,
    ) -> None:
        self.nc = nc
        self.bus = bus
        self.deadline_of = deadline_of
        self.clock = clock
        self.known = KnownAgents()
        # One registry question per agent at a time; beats arriving meanwhile share it.
        self._lookups: dict[str, asyncio.Task[float | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._registry_slots = asyncio.Semaphore(concurrent_lookups)

    async def subscribe(self, service: str) -> None:
        """Take channel beats (the registry's agent events come through `forget`)."""
        subject = AgentChannel.from_any_agent(AgentChannel.HEARTBEAT)
        await self.nc.subscribe(subject, queue=service, cb=self.on_beat)

    def forget(self, agent_id: str) -> None:
        """A registry event of the agent: ask the registry again at its next beat."""
        self.known.forget(agent_id)

    async def refuse(self, msg: Msg, kind: ErrorKind, message: str) -> None:
        if msg.reply:
            error = ErrorBody(kind=kind, message=message)
            await self.nc.publish(msg.reply, Reply.failure(error).model_dump_json().encode())

    async def on_beat(self, msg: Msg) -> None:
        if len(msg.data) > MAX_CHANNEL_BEAT_BYTES:
            await self.refuse(
                msg, ErrorKind.TOO_LARGE, f"heartbeat larger than {MAX_CHANNEL_BEAT_BYTES} bytes"
            )
            return
        try:
            agent_id = UUID(AgentChannel.agent_of(msg.subject))
            beat = ChannelBeat.model_validate_json(msg.data or b"{}")
        except (ValueError, ValidationError, IndexError):
            await self.refuse(msg, ErrorKind.VALIDATION, "invalid channel heartbeat")
            return
        entry = self.known.get(str(agent_id), self.clock())
        if entry is not None:
            await self.record(msg, agent_id, beat, entry.offline_after)
            return
        # Beats are handled one at a time per subscription: wait for the registry elsewhere.
        task = asyncio.get_running_loop().create_task(self.record_after_lookup(msg, agent_id, beat))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def record_after_lookup(self, msg: Msg, agent_id: UUID, beat: ChannelBeat) -> None:
        try:
            offline_after = await self.offline_after(str(agent_id))
        except ServiceError as exc:
            await self.refuse(msg, exc.kind, exc.body.message)
            return
        except Exception:
            log.exception("looking up agent %s failed", agent_id)
            await self.refuse(msg, ErrorKind.UNAVAILABLE, "the agent could not be looked up")
            return
        await self.record(msg, agent_id, beat, offline_after)

    async def record(
        self, msg: Msg, agent_id: UUID, beat: ChannelBeat, offline_after: float | None
    ) -> None:
        if offline_after is None:
            await self.refuse(msg, ErrorKind.NOT_FOUND, UNKNOWN_AGENT)
            return
        telemetry = {"status": beat.status, "system": beat.system, "via": "channel"}
        record = RecordBeat(
            agent_id=agent_id, offline_after_seconds=offline_after, telemetry=telemetry
        )
        await self.nc.publish(Heartbeat.RECORD, record.model_dump_json().encode(), reply=msg.reply)

    async def offline_after(self, agent_id: str) -> float | None:
        """The agent's deadline, or None when the registry does not know it."""
        entry = self.known.get(agent_id, self.clock())
        if entry is not None:
            return entry.offline_after
        lookup = self._lookups.get(agent_id)
        if lookup is None:
            lookup = asyncio.get_running_loop().create_task(self._ask_registry(agent_id))
            self._lookups[agent_id] = lookup
            lookup.add_done_callback(lambda _: self._lookups.pop(agent_id, None))
        return await asyncio.shield(lookup)

    async def _ask_registry(self, agent_id: str) -> float | None:
        try:
            # Queued here, not at the registry: a reconnecting fleet's first beats must not
            # all run out of their request timeout in the registry's queue.
            async with self._registry_slots:
                data = await self.bus.request(
                    Registry.AGENT_DIALECT, AgentDialectQuery(agent_id=UUID(agent_id))
                )
        except ServiceError as exc:
            if exc.kind != ErrorKind.NOT_FOUND:
                raise  # the registry could not answer: nothing to remember
            self.known.remember(agent_id, None, self.clock())
            return None
        dialect = AgentDialect.model_validate(data).dialect
        return self.known.remember(agent_id, self.deadline_of(dialect), self.clock()).offline_after
