"""NATS handlers of the heartbeat service.

The beat subjects are raw nats-py subscriptions straight into `BeatIntake` (no per-message
framework layer: they are the hot path). Everything else is ordinary request/reply.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from typing import Any
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import BaseModel

from agentplane.bus.handlers import EncodedData, replying, success
from agentplane.bus.host import ServiceHost
from agentplane.bus.requests import BusClient
from agentplane.contracts.liveness import (
    BenchFill,
    LivenessQuery,
    RecordTelemetry,
    TelemetryQuery,
    partition_of,
)
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import Heartbeat as Subjects
from agentplane.heartbeat.bench_fill import fill
from agentplane.heartbeat.intake import BeatIntake
from agentplane.heartbeat.telemetry import recent_telemetry, record_telemetry

# Agent ids as `str(UUID)` writes them (the liveness table's keys).
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_LIVENESS_IDS = 100_000


async def subscribe_beats(nc: Client, intake: BeatIntake, service: str) -> None:
    """The beat subjects; call before the replica announces itself ready."""
    # Agents publish here without knowing the partitioning: any replica takes it.
    await nc.subscribe(Subjects.NATIVE_ANY, queue=service, cb=intake.on_native)
    await nc.subscribe(Subjects.BEAT, queue=service, cb=intake.on_gateway_beat)
    await nc.subscribe(Subjects.RECORD, queue=service, cb=intake.on_record)
    for partition in sorted(intake.owned):
        # One owner per partition: it must see every beat of its agents (a queue group
        # shared by two owners would split an agent's beats between two tables).
        await nc.subscribe(Subjects.partitioned(partition), cb=intake.on_native)
        await nc.subscribe(Subjects.record_of(partition), cb=intake.on_record)

    async def stats(msg: Msg) -> None:
        if msg.reply:
            await nc.publish(msg.reply, _ok(intake.stats()))

    await nc.subscribe(Subjects.STATS, cb=stats)
    await nc.flush()


def _ok(model: BaseModel) -> bytes:
    return Reply.success(model).model_dump_json().encode()


def register_handlers(
    host: ServiceHost, intake: BeatIntake, bus: BusClient, *, bench: bool = False
) -> None:
    engine = intake.engine

    async def gather(agent_ids: list[str]) -> EncodedData:
        """Scatter by partition, gather the owners' answers (a `LivenessReport`, encoded
        without a model per agent: list pages ask for thousands)."""
        by_partition: dict[int, list[str]] = defaultdict(list)
        if intake.partitions == 1:
            by_partition[0] = agent_ids
        else:
            for agent_id in agent_ids:
                by_partition[partition_of(agent_id, intake.partitions)].append(agent_id)
        agents: dict[str, dict[str, Any]] = {}
        remote = [p for p in by_partition if p not in intake.owned]
        for partition in by_partition.keys() - set(remote):
            agents.update(engine.report_json(by_partition[partition]))
        answers = await asyncio.gather(
            *(
                bus.request(
                    Subjects.liveness_query_of(p),
                    LivenessQuery(agent_ids=[UUID(a) for a in by_partition[p]]),
                )
                for p in remote
            )
        )
        for answer in answers:
            agents.update(answer.get("agents") or {})
        return EncodedData(json.dumps({"agents": agents}, separators=(",", ":")).encode())

    @replying(LivenessQuery)
    async def validated_liveness(query: LivenessQuery) -> EncodedData:
        return await gather([str(a) for a in query.agent_ids])

    async def liveness(raw: bytes) -> bytes:
        """Ids in canonical form (what every caller sends) skip the model; anything else
        takes the validating path, errors included."""
        try:
            ids = json.loads(raw)["agent_ids"]
            canonical = (
                isinstance(ids, list)
                and len(ids) <= MAX_LIVENESS_IDS
                and all(isinstance(a, str) and _CANONICAL_UUID.fullmatch(a) for a in ids)
            )
        except (ValueError, TypeError, KeyError):
            canonical = False
        if not canonical:
            return await validated_liveness(raw)
        return success(await gather(ids))

    @replying(LivenessQuery)
    async def liveness_of_partition(query: LivenessQuery) -> EncodedData:
        report = engine.report_json(str(a) for a in query.agent_ids)
        return EncodedData(json.dumps({"agents": report}, separators=(",", ":")).encode())

    @replying(TelemetryQuery)
    async def telemetry_recent(query: TelemetryQuery) -> BaseModel:
        return await recent_telemetry(host.broker.connection, query)

    host.handle(Subjects.LIVENESS_QUERY, liveness)
    for partition in sorted(intake.owned):
        host.handle(
            Subjects.liveness_query_of(partition),
            liveness_of_partition,
            queue=f"{host.service}-p{partition}",
        )

    @replying(RecordTelemetry)
    async def telemetry_record(cmd: RecordTelemetry) -> BaseModel:
        return await record_telemetry(host.broker.connection, cmd, bus.timeout)

    host.handle(Subjects.TELEMETRY_RECENT, telemetry_recent)
    host.handle(Subjects.TELEMETRY_RECORD, telemetry_record)

    if bench:

        @replying(BenchFill)
        async def bench_fill(cmd: BenchFill) -> BaseModel:
            return await fill(intake, cmd)

        host.handle(Subjects.BENCH_FILL, bench_fill, queue=f"{host.service}-bench")
