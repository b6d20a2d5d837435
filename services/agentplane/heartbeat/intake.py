"""The heartbeat hot path: every way a beat arrives ends in the same checks and effects.

A beat is validated by hand (no model building per message), its token is checked against
the tokens the registry verified before (`VerifiedTokens`: no round trip), and then it only
moves the agent's deadline and drops its body on the telemetry channel. The first beat with
a token not yet verified asks the registry once, in the background; beats of the same agent
and token that arrive meanwhile wait for that one answer. Nothing here waits for a reply on
the path of a trusted beat.

Partitions: with N > 1 each replica owns some partitions (`partition_of`); a beat of an
agent owned elsewhere is republished, reply subject and all, to the owner's subject.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg

from agentplane.bus.requests import BusClient
from agentplane.contracts.liveness import HeartbeatStats, RecordBeat, partition_of
from agentplane.contracts.subjects import Heartbeat, Telemetry
from agentplane.heartbeat.application import LivenessEngine
from agentplane.heartbeat.beat_bodies import (
    AGENT_ID,
    BAD_TOKEN,
    MAX_TOKEN,
    InvalidBeat,
    gateway_beat,
    native_beat,
)
from agentplane.heartbeat.beat_counts import BeatCounts
from agentplane.heartbeat.beat_replies import (
    INVALID_CREDENTIALS,
    NOT_VERIFIED,
    accepted_reply,
    invalid_reply,
)
from agentplane.heartbeat.credentials import RejectedTokens, Tag, VerifiedTokens
from agentplane.heartbeat.domain import Transition
from agentplane.heartbeat.domain.deadlines import Deadlines
from agentplane.heartbeat.token_verdicts import (
    STALE_TRUST_SECONDS,
    HeldBeats,
    WaitingBeat,
    ask_registry,
)

log = logging.getLogger("agentplane.heartbeat.intake")

_TELEMETRY_PREFIX = Telemetry.subject(Telemetry.HEARTBEAT, "")


class BeatIntake:
    """Validation, credential check and effects of every heartbeat the replica receives."""

    def __init__(
        self,
        engine: LivenessEngine,
        tokens: VerifiedTokens,
        nc: Client,
        bus: BusClient,
        *,
        partitions: int,
        owned: list[int],
        instance: str,
        clock: Callable[[], float] = time.time,
        deadlines: Deadlines | None = None,
        concurrent_checks: int = 128,
        max_waiting_checks: int = 100_000,
    ) -> None:
        self.engine = engine
        self.table = engine.table
        self.tokens = tokens
        self.refused = RejectedTokens()
        self.nc = nc
        self.bus = bus
        self.partitions = partitions
        self.owned = frozenset(owned)
        self.instance = instance
        self.clock = clock
        # Turns a recorded beat's dialect or seed 004 mode into its deadline; without it
        # only explicit deadlines count.
        self.deadlines = deadlines
        self.held = HeldBeats(max_waiting_checks)
        self._check_slots = asyncio.Semaphore(concurrent_checks)
        self._tasks: set[asyncio.Task[None]] = set()
        self.counts = BeatCounts()

    # -- routing -------------------------------------------------------------------------

    def owner_of(self, agent_id: str) -> int | None:
        """None when this replica owns the agent, else the agent's partition."""
        if self.partitions == 1:
            return None
        partition = partition_of(agent_id, self.partitions)
        return None if partition in self.owned else partition

    async def _forward(self, partition: int, agent_id: str, data: bytes, reply: str) -> None:
        self.counts.forwarded += 1
        await self.nc.publish(Heartbeat.partitioned(partition, agent_id), data, reply=reply)

    # -- entry points --------------------------------------------------------------------

    async def on_native(self, msg: Msg) -> None:
        """`ap.hb.<agent_id>` and `ap.hb.<partition>.<agent_id>`: body `{"token": …, …}`."""
        subject = msg.subject
        agent_id = subject[subject.rfind(".") + 1 :]
        data = msg.data
        if self.partitions > 1:
            partition = self.owner_of(agent_id)
            if partition is not None:
                await self._forward(partition, agent_id, data, msg.reply)
                return
        try:
            token, telemetry = native_beat(data)
        except InvalidBeat as exc:
            await self._invalid(msg.reply, str(exc))
            return
        slot = self.table.index.get(agent_id)
        if slot is None and AGENT_ID.fullmatch(agent_id) is None:
            await self._invalid(msg.reply, "the subject must end in the agent id (lowercase UUID)")
            return
        await self._beat(agent_id, slot, token, telemetry, msg.reply)

    async def on_gateway_beat(self, msg: Msg) -> None:
        """Seed 000 through the gateway (`ap.heartbeat.beat`, AgentBeat); same path as native."""
        try:
            agent_id, token = gateway_beat(msg.data)
        except InvalidBeat as exc:
            await self._invalid(msg.reply, str(exc))
            return
        partition = self.owner_of(agent_id)
        if partition is not None:
            forwarded = json.dumps({"token": token}).encode()
            await self._forward(partition, agent_id, forwarded, msg.reply)
            return
        if not 0 < len(token) <= MAX_TOKEN:
            await self._invalid(msg.reply, BAD_TOKEN)
            return
        # The seed 000 body holds nothing but the credential: no telemetry.
        await self._beat(agent_id, self.table.index.get(agent_id), token, None, msg.reply)

    async def _beat(
        self, agent_id: str, slot: int | None, token: str, telemetry: bytes | None, reply: str
    ) -> None:
        """A well-formed native or seed 000 beat: trusted at once, or held for the registry."""
        now = self.clock()
        tag = self.tokens.tag(token)
        if slot is not None and self.tokens.trusted(slot, tag, now):
            self.engine.beat(agent_id, now, None, slot)
            self.counts.accepted += 1
            if telemetry is not None:
                await self.nc.publish(_TELEMETRY_PREFIX + agent_id, telemetry)
            if reply:
                await self._accepted(reply, agent_id, now, False, False)
            return
        self._check(agent_id, token, tag, WaitingBeat(now, None, telemetry, reply, False))

    async def on_record(self, msg: Msg) -> None:
        """`ap.heartbeat.record`: a beat the calling dialect authenticated itself."""
        try:
            cmd = RecordBeat.model_validate_json(msg.data)
        except ValueError:
            await self._invalid(msg.reply, "invalid RecordBeat")
            return
        agent_id = str(cmd.agent_id)
        partition = self.owner_of(agent_id)
        if partition is not None:
            self.counts.forwarded += 1
            await self.nc.publish(Heartbeat.record_of(partition), msg.data, reply=msg.reply)
            return
        now = self.clock()
        deadline = (
            self.deadlines.of_beat(cmd.offline_after_seconds, cmd.dialect, cmd.mode)
            if self.deadlines is not None
            else cmd.offline_after_seconds
        )
        transition = self.engine.beat(agent_id, now, deadline)
        self.counts.accepted += 1
        if cmd.telemetry is not None:
            await self.nc.publish(_TELEMETRY_PREFIX + agent_id, json.dumps(cmd.telemetry).encode())
        if msg.reply:
            came_online = transition is Transition.CAME_ONLINE
            await self._accepted(msg.reply, agent_id, now, True, came_online)

    # -- credentials ---------------------------------------------------------------------

    def _check(self, agent_id: str, token: str, tag: Tag, beat: WaitingBeat) -> None:
        if self.refused.rejected(agent_id, tag, beat.now):
            self.counts.rejected += 1
            self._reply_soon(beat.reply, INVALID_CREDENTIALS)
            return
        first = self.held.hold(agent_id, tag, beat)
        if first:
            self._spawn(self._verify(agent_id, token, tag))
        elif first is None:
            self.counts.unverified += 1
            self._reply_soon(beat.reply, NOT_VERIFIED)

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _reply_soon(self, reply: str, data: bytes) -> None:
        if reply:
            self._spawn(self.nc.publish(reply, data))

    async def _verify(self, agent_id: str, token: str, tag: Tag) -> None:
        async with self._check_slots:
            generation = self.tokens.generation
            self.counts.verifications += 1
            verdict, expires_at = await ask_registry(self.bus, agent_id, token)
        waiting = self.held.release(agent_id, tag)
        slot = self.table.index.get(agent_id)
        if verdict is None and slot is not None and self.tokens.lapsed(slot, tag):
            # The registry can't answer, but this very token was verified before and nothing
            # revoked it since: our dependency's outage must not turn the fleet offline.
            verdict = True
            expires_at = self.clock() + STALE_TRUST_SECONDS
        if verdict is None:
            self.counts.unverified += len(waiting)
            await self._answer_all(waiting, NOT_VERIFIED)
            return
        if not verdict:
            self.counts.rejected += len(waiting)
            self.refused.remember(agent_id, tag, self.clock())
            await self._answer_all(waiting, INVALID_CREDENTIALS)
            return
        # Effects first (synchronously, in arrival order), then the trust, then the I/O.
        transitions = [self.engine.beat(agent_id, beat.now, beat.offline_after) for beat in waiting]
        self.counts.accepted += len(waiting)
        if slot is None:
            slot = self.table.index.get(agent_id)
        # An invalidation that arrived while we asked may concern this very token.
        if slot is not None and generation == self.tokens.generation:
            self.engine.trust(slot, tag, self.clock(), expires_at)
        for beat, transition in zip(waiting, transitions, strict=True):
            if beat.telemetry is not None:
                await self.nc.publish(_TELEMETRY_PREFIX + agent_id, beat.telemetry)
            if beat.reply:
                came_online = transition is Transition.CAME_ONLINE
                await self._accepted(beat.reply, agent_id, beat.now, beat.record, came_online)

    def forget_agent(self, agent_id: str) -> None:
        """The registry changed something of this agent: trust its token no longer."""
        self.engine.forget_trust(agent_id)
        self.refused.forget(agent_id)

    def forget_all(self, reason: str) -> None:
        """Trust no cached token: every agent is checked with the registry again."""
        log.info("trusting no cached token of %d agents: %s", len(self.table), reason)
        self.engine.forget_all_trust()
        self.refused.forget_all()

    # -- replies -------------------------------------------------------------------------

    async def _answer_all(self, waiting: list[WaitingBeat], data: bytes) -> None:
        for beat in waiting:
            if beat.reply:
                await self.nc.publish(beat.reply, data)

    async def _invalid(self, reply: str, message: str) -> None:
        self.counts.invalid += 1
        if reply:
            await self.nc.publish(reply, invalid_reply(message))

    async def _accepted(
        self, reply: str, agent_id: str, now: float, record: bool, came_online: bool
    ) -> None:
        await self.nc.publish(reply, accepted_reply(agent_id, now, record, came_online))

    def stats(self) -> HeartbeatStats:
        return HeartbeatStats(
            instance=self.instance,
            partitions=sorted(self.owned),
            **self.counts.as_fields(),
            tracked=len(self.table),
            online=self.table.count_online(),
        )
