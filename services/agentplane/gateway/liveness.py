"""What the HTTP dialects ask the heartbeat service: record a beat, read liveness and telemetry.

A dialect authenticates the agent itself, then hands the beat to the owner of the agent's
partition (`RecordBeat`) saying what the agent beats as (its dialect, a seed 004 mode); the
heartbeat service decides the deadline that sets. The body goes to the agent's telemetry
channel, never to the event log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from agentplane.bus.requests import BusClient
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.liveness import (
    BeatRecorded,
    LivenessQuery,
    LivenessReport,
    RecordBeat,
    TelemetryList,
    TelemetryQuery,
    partition_of,
)
from agentplane.contracts.pap import PapMode
from agentplane.contracts.subjects import Heartbeat, Telemetry
from agentplane.settings import GatewaySettings

log = logging.getLogger("agentplane.gateway.liveness")

# Lists ask for the newest telemetry of each agent; this many requests run at once.
TELEMETRY_CONCURRENCY = 32


async def record_beat(
    bus: BusClient,
    settings: GatewaySettings,
    agent_id: UUID,
    telemetry: dict[str, Any] | None,
    *,
    dialect: str,
    mode: PapMode | None = None,
) -> BeatRecorded:
    """Reset the agent's deadline at the replica that owns its partition."""
    partition = partition_of(str(agent_id), settings.heartbeat_partitions)
    data = await bus.request(
        Heartbeat.record_of(partition),
        RecordBeat(agent_id=agent_id, dialect=dialect, mode=mode, telemetry=telemetry),
    )
    return BeatRecorded.model_validate(data)


async def liveness_of(bus: BusClient, agent_ids: list[UUID]) -> LivenessReport:
    if not agent_ids:
        return LivenessReport(agents={})
    data = await bus.request(Heartbeat.LIVENESS_QUERY, LivenessQuery(agent_ids=agent_ids))
    return LivenessReport.model_validate(data)


async def latest_heartbeats(
    bus: BusClient, agent_ids: Iterable[UUID]
) -> dict[UUID, dict[str, Any]]:
    """The newest heartbeat telemetry body of each agent that has one.

    Telemetry is a side channel: when it cannot answer, views show no telemetry rather than
    fail (the control path never depends on it).
    """
    slots = asyncio.Semaphore(TELEMETRY_CONCURRENCY)

    async def newest(agent_id: UUID) -> tuple[UUID, dict[str, Any] | None]:
        async with slots:
            try:
                data = await bus.request(
                    Heartbeat.TELEMETRY_RECENT,
                    TelemetryQuery(agent_id=agent_id, kind=Telemetry.HEARTBEAT, limit=1),
                )
            except ServiceError as exc:
                if exc.kind is not ErrorKind.UNAVAILABLE:
                    raise
                log.warning("no telemetry for %s: %s", agent_id, exc.body.message)
                return agent_id, None
        entries = TelemetryList.model_validate(data).entries
        return agent_id, entries[0].data if entries else None

    found = await asyncio.gather(*(newest(a) for a in agent_ids))
    return {agent_id: data for agent_id, data in found if data is not None}
