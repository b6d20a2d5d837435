"""NATS handlers of the heartbeat service.

The beat subjects are raw nats-py subscriptions straight into `BeatIntake` (no per-message
framework layer: they are the hot path). Everything else is ordinary request/reply.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import BaseModel

from agentplane.bus.handlers import replying
from agentplane.bus.host import ServiceHost
from agentplane.bus.requests import BusClient
from agentplane.contracts.liveness import (
    AgentLiveness,
    BenchFill,
    LivenessQuery,
    LivenessReport,
    TelemetryQuery,
    partition_of,
)
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import Heartbeat as Subjects
from agentplane.heartbeat.bench_fill import fill
from agentplane.heartbeat.intake import BeatIntake
from agentplane.heartbeat.telemetry import recent_telemetry


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

    @replying(LivenessQuery)
    async def liveness(query: LivenessQuery) -> BaseModel:
        """Scatter by partition, gather the owners' answers."""
        by_partition: dict[int, list[UUID]] = defaultdict(list)
        for agent_id in query.agent_ids:
            by_partition[partition_of(str(agent_id), intake.partitions)].append(agent_id)
        agents: dict[str, AgentLiveness] = {}
        remote = [p for p in by_partition if p not in intake.owned]
        for partition in by_partition.keys() - set(remote):
            agents.update(engine.report(str(a) for a in by_partition[partition]))
        answers = await asyncio.gather(
            *(
                bus.request(Subjects.liveness_query_of(p), LivenessQuery(agent_ids=by_partition[p]))
                for p in remote
            )
        )
        for answer in answers:
            agents.update(LivenessReport.model_validate(answer).agents)
        return LivenessReport(agents=agents)

    @replying(LivenessQuery)
    async def liveness_of_partition(query: LivenessQuery) -> BaseModel:
        return engine.query(query)

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
    host.handle(Subjects.TELEMETRY_RECENT, telemetry_recent)

    if bench:

        @replying(BenchFill)
        async def bench_fill(cmd: BenchFill) -> BaseModel:
            return await fill(intake, cmd)

        host.handle(Subjects.BENCH_FILL, bench_fill, queue=f"{host.service}-bench")
