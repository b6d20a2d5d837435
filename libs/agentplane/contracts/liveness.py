"""Wire models of heartbeats and liveness."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.pap import PapMode


class AgentBeat(BaseModel):
    """Seed 000 heartbeat: an agent id and its token."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    token: str = Field(max_length=512)


class BeatAccepted(BaseModel):
    """The heartbeat was authenticated and reset the agent's deadline."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    last_seen_at: datetime


class LivenessQuery(BaseModel):
    """Liveness of the given agents."""

    model_config = ConfigDict(frozen=True)

    agent_ids: list[UUID] = Field(max_length=100_000)


class AgentLiveness(BaseModel):
    """Whether an agent is online and when it was last heard from."""

    model_config = ConfigDict(frozen=True)

    online: bool
    last_seen_at: datetime | None = None


class LivenessReport(BaseModel):
    """Liveness by agent id (string form); agents never heard from are absent."""

    model_config = ConfigDict(frozen=True)

    agents: dict[str, AgentLiveness]


# -- NATS-native heartbeats and partitions ---------------------------------------------------

# Bound of a NATS-native heartbeat body; the fields besides `token` go to telemetry.
MAX_NATIVE_BEAT_BYTES = 4096


def partition_of(agent_id: str, partitions: int) -> int:
    """The heartbeat partition of an agent: crc32 of its lowercase UUID text, mod N.

    Deterministic across processes and languages (zlib/IEEE CRC-32), so agents, gateways and
    replicas agree on `ap.hb.<partition>.<agent_id>` without asking anyone.
    """
    return zlib.crc32(agent_id.encode()) % partitions if partitions > 1 else 0


class NativeBeat(BaseModel):
    """Body of a NATS-native heartbeat on `ap.hb.<agent_id>` (agent id in lowercase UUID form).

    `token` is the agent's token (the one its seed 000 heartbeat sends). Other fields (e.g.
    `uptime_seconds`) go to the agent's heartbeat telemetry (`ap.telemetry.heartbeat.<id>`),
    never the token; a beat with nothing but the token leaves no telemetry message. With a
    reply subject the agent gets a `Reply` carrying `BeatAccepted`, or an error
    (`unauthorized`, `validation`, `unavailable`); without one, a bad beat is dropped and
    counted (`HeartbeatStats`).
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    token: str = Field(min_length=1, max_length=512)


class RecordBeat(BaseModel):
    """A heartbeat of an agent the caller already authenticated (a gateway dialect).

    The caller says what the agent beats as, the heartbeat service decides its deadline from
    now on: a seed 004 `mode`, else its `dialect`'s interval times the missed beats allowed.
    `offline_after_seconds` sets the deadline outright (the service's own channel beats and
    tests); with none of the three the agent keeps its current one. `telemetry`, when given,
    is kept on the agent's heartbeat telemetry channel.
    """

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    dialect: str | None = Field(default=None, max_length=32)
    mode: PapMode | None = None
    offline_after_seconds: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)
    telemetry: dict[str, Any] | None = None


class BeatRecorded(BaseModel):
    """The deadline was reset; `came_online` when this beat made the agent online."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    last_seen_at: datetime
    came_online: bool


class StatsQuery(BaseModel):
    """Asks every heartbeat replica for its counters (each answers; `{}`)."""

    model_config = ConfigDict(frozen=True)


class HeartbeatStats(BaseModel):
    """Counters of one heartbeat replica since it started."""

    model_config = ConfigDict(frozen=True)

    instance: str
    partitions: list[int]
    accepted: int
    rejected: int
    invalid: int
    unverified: int
    forwarded: int
    verifications: int
    tracked: int
    online: int


class TelemetryQuery(BaseModel):
    """The newest `limit` telemetry messages of one agent and kind."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    kind: str = Field(default="heartbeat", pattern=r"^[a-z][a-z0-9_]{0,31}$")
    limit: int = Field(default=10, ge=1, le=1000)


class TelemetryEntry(BaseModel):
    """One telemetry message: its body and when the stream received it."""

    model_config = ConfigDict(frozen=True)

    sequence: int
    received_at: datetime
    data: dict[str, Any]


class TelemetryList(BaseModel):
    """Telemetry messages, newest first; `total`: how many the stream holds for the agent and
    kind (at most its per-agent cap), None from a heartbeat replica that predates the field."""

    model_config = ConfigDict(frozen=True)

    entries: list[TelemetryEntry]
    total: int | None = None


class RecordTelemetry(BaseModel):
    """Keep a telemetry message (e.g. seed 004 metrics) on the agent's channel of `kind`; the
    answer comes once the stream stored it, so a read right after includes it."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    data: dict[str, Any]


class TelemetryRecorded(BaseModel):
    """The stream stored the message under `sequence`."""

    model_config = ConfigDict(frozen=True)

    sequence: int


class BenchFill(BaseModel):
    """Benchmark only: track `count` synthetic online agents (deadline `offline_after_seconds`)."""

    model_config = ConfigDict(frozen=True)

    count: int = Field(ge=1, le=10_000_000)
    offline_after_seconds: float = Field(default=3600.0, gt=0)


class BenchFilled(BaseModel):
    """How many agents the replica tracks now."""

    model_config = ConfigDict(frozen=True)

    tracked: int
