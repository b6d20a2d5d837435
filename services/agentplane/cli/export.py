"""`agentplane events export`: integration events as JSON lines, in global order.

Global order is the order of the AP_EVENTS stream. When NATS is not reachable (the system is
stopped) the events are read from the event stores instead, merged by time of recording.
"""

from __future__ import annotations

import asyncio
import heapq
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events
from agentplane.security.nats_credentials import ClientCredential, service_credential
from agentplane.settings import Settings


def runtime_nats_url(settings: Settings) -> str | None:
    if settings.nats_url:
        return settings.nats_url
    runtime = settings.data_dir / "runtime.json"
    if runtime.exists():
        return json.loads(runtime.read_text()).get("nats_url")
    return None


def wanted(
    event: IntegrationEvent, agent: str | None, since: datetime | None, types: set[str]
) -> bool:
    if agent and event.agent_id != agent:
        return False
    if since and event.occurred_at < since:
        return False
    return not types or event.type in types


async def _from_stream(url: str, credential: ClientCredential) -> list[IntegrationEvent]:
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    async def quiet(_: Exception) -> None:
        return None

    nc = await nats.connect(
        url.split(","),
        user=credential.user,
        password=credential.password,
        connect_timeout=2,
        allow_reconnect=False,
        error_cb=quiet,
    )
    try:
        js = nc.jetstream()
        info = await js.stream_info(EVENTS_STREAM)
        last = info.state.last_seq
        events: list[IntegrationEvent] = []
        if info.state.messages == 0:
            return events
        sub = await js.pull_subscribe(
            Events.ALL,
            stream=EVENTS_STREAM,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=30.0,
            ),
        )
        try:
            while True:
                batch = await sub.fetch(1000, timeout=5)
                for msg in batch:
                    events.append(IntegrationEvent.model_validate_json(msg.data))
                if batch[-1].metadata.sequence.stream >= last:
                    return events
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()


def _from_stores(settings: Settings) -> Iterator[IntegrationEvent]:
    from agentplane.heartbeat.replay import published_events as heartbeat_events
    from agentplane.messaging.replay import published_events as messaging_events
    from agentplane.registry.replay import published_events as registry_events

    sources: list[Iterable[IntegrationEvent]] = [
        registry_events(settings),
        heartbeat_events(settings),
        messaging_events(settings),
    ]
    return heapq.merge(*sources, key=lambda e: (e.occurred_at, e.app, e.position))


def export(
    settings: Settings,
    out: IO[str],
    agent: str | None,
    since: datetime | None,
    types: set[str],
    source: str,
) -> int:
    events: Iterable[IntegrationEvent]
    url = runtime_nats_url(settings)
    if source == "store":
        events = _from_stores(settings)
    else:
        try:
            if not url:
                raise ConnectionError("no NATS URL")
            events = asyncio.run(_from_stream(url, service_credential(settings)))
        except Exception:
            if source == "stream":
                raise
            events = _from_stores(settings)
    count = 0
    for event in events:
        if wanted(event, agent, since, types):
            out.write(event.model_dump_json() + "\n")
            count += 1
    return count
