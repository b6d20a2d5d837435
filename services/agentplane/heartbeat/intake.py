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
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import BaseModel

from agentplane.bus.agent_token_cache import agent_of
from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import AuthenticateAgent
from agentplane.contracts.errors import ErrorBody, ErrorKind, ServiceError
from agentplane.contracts.liveness import (
    MAX_NATIVE_BEAT_BYTES,
    BeatAccepted,
    BeatRecorded,
    HeartbeatStats,
    RecordBeat,
    partition_of,
)
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import Heartbeat, Registry, Telemetry
from agentplane.heartbeat.application import LivenessEngine, epoch_to_datetime
from agentplane.heartbeat.credentials import RejectedTokens, Tag, VerifiedTokens
from agentplane.heartbeat.domain import Transition
from agentplane.heartbeat.domain.deadlines import Deadlines

log = logging.getLogger("agentplane.heartbeat.intake")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MAX_TOKEN = 512
# JSON text to Python without the per-call encoding sniffing of json.loads(bytes).
_decode = json.JSONDecoder().decode
_TELEMETRY_PREFIX = Telemetry.subject(Telemetry.HEARTBEAT, "")
# Beats of one agent and token held while the registry is asked; more are turned away.
MAX_WAITING_PER_TOKEN = 64
# How long a token whose trust lapsed stays trusted while the registry cannot answer.
STALE_TRUST_SECONDS = 10.0
_REJECTED_KINDS = (ErrorKind.UNAUTHORIZED, ErrorKind.VALIDATION, ErrorKind.NOT_FOUND)


def _error(kind: ErrorKind, message: str) -> bytes:
    return Reply.failure(ErrorBody(kind=kind, message=message)).model_dump_json().encode()


_INVALID_CREDENTIALS = _error(ErrorKind.UNAUTHORIZED, "Invalid agent credentials")
_NOT_VERIFIED = _error(ErrorKind.UNAVAILABLE, "credentials could not be checked; try again")


@dataclass(slots=True)
class _Waiting:
    """A beat held until the registry answers for its token."""

    now: float
    offline_after: float | None
    telemetry: bytes | None
    reply: str
    record: bool


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
        self.max_waiting_checks = max_waiting_checks
        self._checks: dict[tuple[str, Tag], list[_Waiting]] = {}
        self._check_slots = asyncio.Semaphore(concurrent_checks)
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted = 0
        self.rejected = 0
        self.invalid = 0
        self.unverified = 0
        self.forwarded = 0
        self.verifications = 0

    # -- routing -------------------------------------------------------------------------

    def owner_of(self, agent_id: str) -> int | None:
        """None when this replica owns the agent, else the agent's partition."""
        if self.partitions == 1:
            return None
        partition = partition_of(agent_id, self.partitions)
        return None if partition in self.owned else partition

    async def _forward(self, partition: int, agent_id: str, data: bytes, reply: str) -> None:
        self.forwarded += 1
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
        if len(data) > MAX_NATIVE_BEAT_BYTES:
            await self._invalid(msg.reply, "heartbeat body is too large")
            return
        try:
            body = _decode(data.decode())
        except ValueError:
            await self._invalid(msg.reply, "heartbeat body must be a JSON object")
            return
        if type(body) is not dict:
            await self._invalid(msg.reply, "heartbeat body must be a JSON object")
            return
        token = body.pop("token", None)
        if type(token) is not str or not 0 < len(token) <= _MAX_TOKEN:
            await self._invalid(msg.reply, "token must be a string of 1 to 512 characters")
            return
        slot = self.table.index.get(agent_id)
        if slot is None and _UUID.fullmatch(agent_id) is None:
            await self._invalid(msg.reply, "the subject must end in the agent id (lowercase UUID)")
            return
        # What the agent reported besides its credential goes to telemetry; a beat that
        # reported nothing else leaves no message there (its time is the agent's last seen).
        telemetry = json.dumps(body).encode() if body else None
        now = self.clock()
        tag = self.tokens.tag(token)
        if slot is not None and self.tokens.trusted(slot, tag, now):
            self.engine.beat(agent_id, now, None, slot)
            self.accepted += 1
            if telemetry is not None:
                await self.nc.publish(_TELEMETRY_PREFIX + agent_id, telemetry)
            if msg.reply:
                await self._accepted(msg.reply, agent_id, now, False, False)
            return
        self._check(agent_id, token, tag, _Waiting(now, None, telemetry, msg.reply, False))

    async def on_gateway_beat(self, msg: Msg) -> None:
        """Seed 000 through the gateway (`ap.heartbeat.beat`, AgentBeat); same path as native."""
        try:
            body = json.loads(msg.data)
            agent_id = str(UUID(body["agent_id"]))
            token = body["token"]
        except (ValueError, KeyError, TypeError, AttributeError):
            await self._invalid(msg.reply, "agent_id (UUID) and token are required")
            return
        if type(token) is not str:
            await self._invalid(msg.reply, "token must be a string")
            return
        partition = self.owner_of(agent_id)
        if partition is not None:
            forwarded = json.dumps({"token": token}).encode()
            await self._forward(partition, agent_id, forwarded, msg.reply)
            return
        if not 0 < len(token) <= _MAX_TOKEN:
            await self._invalid(msg.reply, "token must be a string of 1 to 512 characters")
            return
        now = self.clock()
        tag = self.tokens.tag(token)
        slot = self.table.index.get(agent_id)
        if slot is not None and self.tokens.trusted(slot, tag, now):
            self.engine.beat(agent_id, now, None, slot)
            self.accepted += 1
            await self._accepted(msg.reply, agent_id, now, False, False)
            return
        # The seed 000 body holds nothing but the credential: no telemetry.
        self._check(agent_id, token, tag, _Waiting(now, None, None, msg.reply, False))

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
            self.forwarded += 1
            await self.nc.publish(Heartbeat.record_of(partition), msg.data, reply=msg.reply)
            return
        now = self.clock()
        deadline = (
            self.deadlines.of_beat(cmd.offline_after_seconds, cmd.dialect, cmd.mode)
            if self.deadlines is not None
            else cmd.offline_after_seconds
        )
        transition = self.engine.beat(agent_id, now, deadline)
        self.accepted += 1
        if cmd.telemetry is not None:
            await self.nc.publish(_TELEMETRY_PREFIX + agent_id, json.dumps(cmd.telemetry).encode())
        if msg.reply:
            came_online = transition is Transition.CAME_ONLINE
            await self._accepted(msg.reply, agent_id, now, True, came_online)

    # -- credentials ---------------------------------------------------------------------

    def _check(self, agent_id: str, token: str, tag: Tag, beat: _Waiting) -> None:
        if self.refused.rejected(agent_id, tag, beat.now):
            self.rejected += 1
            self._reply_soon(beat.reply, _INVALID_CREDENTIALS)
            return
        key = (agent_id, tag)
        waiting = self._checks.get(key)
        if waiting is not None:
            if len(waiting) < MAX_WAITING_PER_TOKEN:
                waiting.append(beat)
            else:  # an agent beating this fast while we ask is not waited for
                self.unverified += 1
                self._reply_soon(beat.reply, _NOT_VERIFIED)
            return
        if len(self._checks) >= self.max_waiting_checks:
            self.unverified += 1
            self._reply_soon(beat.reply, _NOT_VERIFIED)
            return
        self._checks[key] = [beat]
        self._spawn(self._verify(agent_id, token, tag))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _reply_soon(self, reply: str, data: bytes) -> None:
        if reply:
            self._spawn(self.nc.publish(reply, data))

    async def _verify(self, agent_id: str, token: str, tag: Tag) -> None:
        verdict: bool | None
        async with self._check_slots:
            generation = self.tokens.generation
            self.verifications += 1
            expires_at: float | None = None
            try:
                identity = await self.bus.request(
                    Registry.AGENT_AUTHENTICATE,
                    AuthenticateAgent(agent_id=UUID(agent_id), token=token),
                )
                verdict = True
                if identity.get("token_expires_at"):
                    expires_at = datetime.fromisoformat(identity["token_expires_at"]).timestamp()
            except ServiceError as exc:
                verdict = False if exc.kind in _REJECTED_KINDS else None
            except Exception:
                log.exception("checking the credentials of %s failed", agent_id)
                verdict = None
        waiting = self._checks.pop((agent_id, tag), [])
        slot = self.table.index.get(agent_id)
        if verdict is None and slot is not None and self.tokens.lapsed(slot, tag):
            # The registry can't answer, but this very token was verified before and nothing
            # revoked it since: our dependency's outage must not turn the fleet offline.
            verdict = True
            expires_at = self.clock() + STALE_TRUST_SECONDS
        if verdict is None:
            self.unverified += len(waiting)
            for beat in waiting:
                if beat.reply:
                    await self.nc.publish(beat.reply, _NOT_VERIFIED)
            return
        if not verdict:
            self.rejected += len(waiting)
            self.refused.remember(agent_id, tag, self.clock())
            for beat in waiting:
                if beat.reply:
                    await self.nc.publish(beat.reply, _INVALID_CREDENTIALS)
            return
        # Effects first (synchronously, in arrival order), then the trust, then the I/O.
        transitions = [self.engine.beat(agent_id, beat.now, beat.offline_after) for beat in waiting]
        self.accepted += len(waiting)
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

    async def on_registry_event(self, msg: Msg) -> None:
        """`ap.events.registry.agent.>`: any change of an agent invalidates its cached token."""
        agent_id = agent_of(msg.data)
        if agent_id is not None:
            self.forget_agent(agent_id)

    # -- replies -------------------------------------------------------------------------

    async def _invalid(self, reply: str, message: str) -> None:
        self.invalid += 1
        if reply:
            await self.nc.publish(reply, _error(ErrorKind.VALIDATION, message))

    async def _accepted(
        self, reply: str, agent_id: str, now: float, record: bool, came_online: bool
    ) -> None:
        result: BaseModel
        if record:
            result = BeatRecorded(
                agent_id=UUID(agent_id),
                last_seen_at=epoch_to_datetime(now),
                came_online=came_online,
            )
        else:
            result = BeatAccepted(agent_id=UUID(agent_id), last_seen_at=epoch_to_datetime(now))
        await self.nc.publish(reply, Reply.success(result).model_dump_json().encode())

    def stats(self) -> HeartbeatStats:
        return HeartbeatStats(
            instance=self.instance,
            partitions=sorted(self.owned),
            accepted=self.accepted,
            rejected=self.rejected,
            invalid=self.invalid,
            unverified=self.unverified,
            forwarded=self.forwarded,
            verifications=self.verifications,
            tracked=len(self.table),
            online=self.table.count_online(),
        )
