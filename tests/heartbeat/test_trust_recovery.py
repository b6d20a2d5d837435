"""Registry events missed while down or disconnected are replayed from the event stream; only
when that keeps failing is every cached token dropped, with the reason."""

from __future__ import annotations

import json
import time
import uuid

import nats

from agentplane.contracts.subjects import Events
from agentplane.eventstore.relay import ensure_events_stream
from agentplane.heartbeat.invalidations import recover_trust
from agentplane.testing.nats import NatsServer


async def test_the_agents_of_replayed_events_are_forgotten_and_no_others(
    nats_server: NatsServer,
) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await ensure_events_stream(js)
        since = time.time()
        changed = [str(uuid.uuid4()) for _ in range(3)]
        for agent_id in changed:
            event = {"agent_id": agent_id, "aggregate_id": agent_id, "type": "agent.Deleted"}
            await js.publish(
                Events.subject("registry", "agent.Deleted"), json.dumps(event).encode()
            )
        forgotten: list[str] = []
        reasons: list[str] = []
        replayed = await recover_trust(nc, since, forgotten.append, reasons.append, "restart")
        assert replayed is not None and replayed >= len(changed)
        # Other tests share the stream: events of theirs may be replayed too, never ours missed.
        assert set(changed) <= set(forgotten)
        assert reasons == []
    finally:
        await nc.close()


async def test_a_replay_that_keeps_failing_drops_all_trust_and_says_why(
    nats_server: NatsServer,
) -> None:
    nc = await nats.connect(nats_server.url)
    await nc.close()  # every attempt fails
    forgotten: list[str] = []
    reasons: list[str] = []
    replayed = await recover_trust(
        nc, time.time(), forgotten.append, reasons.append, "NATS reconnect #1", backoff=0.01
    )
    assert replayed is None
    assert forgotten == []
    assert len(reasons) == 1 and reasons[0].startswith("NATS reconnect #1: registry agent")
