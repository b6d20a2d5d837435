"""A big fleet fast: agents appended straight into a running system's registry event store.

Registering 100,000 agents through HTTP would measure registration, not what a benchmark
wants to look at with a big fleet. This appends `agent.Registered` events (the same events
`POST /v1/agents/register` records, real keyed token hashes included) into the registry's
SQLite event store, `BATCH` per transaction, while the system runs: the registry's
projection picks them up like a replica's writes, and its relay publishes them, so every
service sees them the way it sees registrations.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.registry.application import RegistryStore
from agentplane.registry.domain import Agent
from agentplane.registry.enrollment import AGENT_TOKEN_PREFIX
from agentplane.security import keyed_hash, public_prefix
from agentplane.security.server_key import server_key
from agentplane.settings import Settings
from agentplane.testing.system import RunningSystem

BATCH = 1000


def append_agents(
    data_dir: Path, workspace_id: str, count: int, token_ttl: timedelta = timedelta(days=1)
) -> tuple[list[tuple[str, str]], int]:
    """Append `count` registered agents; their (id, token) and the last notification id."""
    settings = Settings(data_dir=data_dir)
    store = RegistryStore.from_settings(settings)
    key = server_key(settings.service_data_dir())
    expires = datetime.now(UTC) + token_ttl
    agents: list[tuple[str, str]] = []
    last = 0
    try:
        for start in range(0, count, BATCH):
            batch = []
            for n in range(start, min(start + BATCH, count)):
                agent_id, token = uuid4(), AGENT_TOKEN_PREFIX + uuid4().hex + uuid4().hex
                batch.append(
                    Agent.register(
                        agent_id,
                        workspace_id,
                        f"agent-{n}",
                        "bench",
                        keyed_hash(token, key),
                        public_prefix(token, AGENT_TOKEN_PREFIX),
                        expires,
                    )
                )
                agents.append((str(agent_id), token))
            recordings = store.save(*batch)
            last = max(r.notification.id for r in recordings)
    finally:
        store.close()
    return agents, last


def registry_view_position(data_dir: Path) -> int:
    """How far the running registry's view has applied its log."""
    path = Settings(data_dir=data_dir).service_data_dir() / "registry_views.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        row = conn.execute(
            "SELECT position FROM view_tracking WHERE name = 'projection:registry'"
        ).fetchone()
    return int(row[0]) if row else 0


def wait_projected(data_dir: Path, position: int, timeout: float = 600.0) -> float:
    """Wait until the registry's view includes `position`; return the seconds waited."""
    started = time.monotonic()
    while registry_view_position(data_dir) < position:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"registry view did not reach {position}")
        time.sleep(0.2)
    return time.monotonic() - started


async def wait_quiet(system: RunningSystem, timeout: float = 900.0) -> float:
    """Wait until the events of the appended fleet are published and every durable consumer
    of the event stream (audit, …) has handled them: measure lists, not the ingest."""
    nc = await system.nats_connect(name="bench-fleet")
    js = nc.jetstream()
    started = time.monotonic()
    try:
        last_seq = -1
        while time.monotonic() - started < timeout:
            info = await js.stream_info(EVENTS_STREAM)
            busy = info.state.last_seq != last_seq
            last_seq = info.state.last_seq
            for consumer in await js.consumers_info(EVENTS_STREAM):
                if not consumer.config.deliver_subject:
                    continue  # a pull consumer pulls when it wants (replays at start, …)
                busy = busy or consumer.num_pending > 0 or consumer.num_ack_pending > 0
            if not busy:
                return time.monotonic() - started
            await asyncio.sleep(1.0)
        raise TimeoutError("the system did not settle")
    finally:
        await nc.close()
