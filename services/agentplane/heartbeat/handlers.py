"""The heartbeat service's handler table, and its subscriptions.

Request/reply subjects are `bus.routes` routes. The beat subjects are plain nats-py
subscriptions straight into `BeatIntake`, with no per-message layer: they are the hot path,
and a beat is answered later (after its token is checked) or not at all. Registry agent
events (`invalidations.follow_registry_events`) and channel beats (`channel_beats.py`)
are subscriptions too.
"""

from __future__ import annotations

from functools import partial

from nats.aio.client import Client

from agentplane.bus.host import ServiceHost
from agentplane.bus.requests import BusClient
from agentplane.bus.routes import (
    EVERY_REPLICA,
    Awaiting,
    Route,
    command,
    encoded,
    query,
    serve_routes,
)
from agentplane.contracts.liveness import (
    BenchFill,
    HeartbeatStats,
    LivenessQuery,
    RecordTelemetry,
    StatsQuery,
    TelemetryQuery,
)
from agentplane.contracts.subjects import Heartbeat as S
from agentplane.heartbeat.bench_fill import fill
from agentplane.heartbeat.intake import BeatIntake
from agentplane.heartbeat.liveness_lookup import LivenessLookup
from agentplane.heartbeat.telemetry import recent_telemetry, record_telemetry


def routes(
    service: str, intake: BeatIntake, bus: BusClient, nc: Client, *, bench: bool
) -> list[Route]:
    liveness = LivenessLookup(intake, bus)
    record = partial(record_telemetry, nc, timeout=bus.timeout)

    async def stats(_: StatsQuery) -> HeartbeatStats:
        return intake.stats()

    table = [
        # any agents' liveness (list pages: thousands of ids, checked without the model)
        encoded(S.LIVENESS_QUERY, LivenessQuery, liveness.of_agents),
        # one owner per partition answers for its agents
        *(
            query(S.liveness_query_of(p), LivenessQuery, liveness.of_partition, queue=f"{service}-p{p}")  # noqa: E501
            for p in sorted(intake.owned)
        ),
        query(S.TELEMETRY_RECENT, TelemetryQuery, partial(recent_telemetry, nc)),
        command(S.TELEMETRY_RECORD, RecordTelemetry, record),
        # each replica's own counters
        query(S.STATS, StatsQuery, stats, queue=EVERY_REPLICA),
    ]  # fmt: skip
    if bench:
        table.append(
            command(S.BENCH_FILL, BenchFill, partial(fill, intake), queue=f"{service}-bench")
        )
    return table


def register_handlers(
    host: ServiceHost, intake: BeatIntake, bus: BusClient, *, bench: bool = False
) -> None:
    """Served once the start hooks are done: after `subscribe_beats`, so a replica that
    answers its stats already takes its beats."""
    serve_routes(
        host, routes(host.service, intake, bus, host.broker.connection, bench=bench), Awaiting()
    )


async def subscribe_beats(nc: Client, intake: BeatIntake, service: str) -> None:
    """The beat subjects; call before the replica announces itself ready."""
    # Agents publish here without knowing the partitioning: any replica takes it.
    await nc.subscribe(S.NATIVE_ANY, queue=service, cb=intake.on_native)
    await nc.subscribe(S.BEAT, queue=service, cb=intake.on_gateway_beat)
    await nc.subscribe(S.RECORD, queue=service, cb=intake.on_record)
    for partition in sorted(intake.owned):
        # One owner per partition: it must see every beat of its agents (a queue group
        # shared by two owners would split an agent's beats between two tables).
        await nc.subscribe(S.partitioned(partition), cb=intake.on_native)
        await nc.subscribe(S.record_of(partition), cb=intake.on_record)
    await nc.flush()
