"""Registry events that end the trust in a cached agent token, live and replayed.

Live: a core subscription on `ap.events.registry.agent.>` (the relay publishes them to the
AP_EVENTS stream; core subscribers of the subject receive them too). Replayed: after a
restart, the same subjects from the stream since the checkpoint the trusted tokens came from,
through a short-lived consumer that delivers from that time on and is deleted afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from agentplane.bus.agent_token_cache import REGISTRY_AGENT_EVENTS, agent_of
from agentplane.contracts.streams import EVENTS_STREAM

log = logging.getLogger("agentplane.heartbeat.invalidations")

# Events published a little before the checkpoint may not have reached us before it.
REPLAY_MARGIN_SECONDS = 10.0


async def replay_registry_events(
    nc: Client, since: float, forget: Callable[[str], None], batch: int = 1000
) -> int:
    """Call `forget(agent_id)` for every registry agent event since `since`; return count."""
    js = nc.jetstream()
    start = datetime.fromtimestamp(since - REPLAY_MARGIN_SECONDS, UTC)
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_TIME,
        opt_start_time=start.isoformat().replace("+00:00", "Z"),
        ack_policy=AckPolicy.NONE,
        inactive_threshold=60.0,
    )
    try:
        sub = await js.pull_subscribe(REGISTRY_AGENT_EVENTS, stream=EVENTS_STREAM, config=config)
    except NotFoundError:
        return 0  # no event stream yet: nothing happened
    replayed = 0
    name = (await sub.consumer_info()).name
    try:
        while True:
            try:
                messages = await sub.fetch(batch, timeout=1.0)
            except NatsTimeout:
                break
            for msg in messages:
                agent_id = agent_of(msg.data)
                if agent_id is not None:
                    forget(agent_id)
                replayed += 1
            if not messages or messages[-1].metadata.num_pending == 0:
                break
    finally:
        try:
            await sub.unsubscribe()
            await js.delete_consumer(EVENTS_STREAM, name)
        except Exception:  # it expires on its own after inactive_threshold
            log.debug("replay consumer %s left to expire", name)
    return replayed
