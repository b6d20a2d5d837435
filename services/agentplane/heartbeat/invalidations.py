"""Registry events that end the trust in a cached agent token, live and replayed.

Live: a core subscription on `ap.events.registry.agent.>` (the relay publishes them to the
AP_EVENTS stream; core subscribers of the subject receive them too). Replayed: after a
restart, the same subjects from the stream since the checkpoint the trusted tokens came from,
and after a lost connection since the link was last known up, through a short-lived consumer
that delivers from that time on and is deleted afterwards. Only when the replay fails again
and again is every cached token dropped (the whole fleet is then checked with the registry
once more), and that is logged with its reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from agentplane.bus.agent_token_cache import REGISTRY_AGENT_EVENTS, agent_of
from agentplane.contracts.streams import EVENTS_STREAM

log = logging.getLogger("agentplane.heartbeat.invalidations")

# Events published a little before the checkpoint may not have reached us before it.
REPLAY_MARGIN_SECONDS = 10.0
# A replay that fails (the server busy, a request timing out) is tried again this many times
# in all, a second more apart each time, before all trust is dropped instead.
REPLAY_ATTEMPTS = 3
# How long one fetch of events the consumer reported pending may take.
FETCH_TIMEOUT_SECONDS = 5.0


async def follow_registry_events(nc: Client, *forgets: Callable[[str], None]) -> None:
    """Live: every registry agent event calls each `forget(agent_id)` (one subscription for
    all of the process's caches, so each event is sent to it and parsed once)."""

    async def on_event(msg: Msg) -> None:
        agent_id = agent_of(msg.data)
        if agent_id is not None:
            for forget in forgets:
                forget(agent_id)

    await nc.subscribe(REGISTRY_AGENT_EVENTS, cb=on_event)


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
    info = await sub.consumer_info()
    name = info.name
    # The consumer counts what matches from the start time on: read exactly that (no fetch
    # waiting for a timeout to learn the stream had nothing), and a fetch that times out
    # while events are pending fails the replay rather than skipping them.
    pending = info.num_pending
    try:
        while pending > 0:
            messages = await sub.fetch(min(batch, pending), timeout=FETCH_TIMEOUT_SECONDS)
            for msg in messages:
                agent_id = agent_of(msg.data)
                if agent_id is not None:
                    forget(agent_id)
                replayed += 1
            pending = messages[-1].metadata.num_pending if messages else pending
    finally:
        try:
            await sub.unsubscribe()
            await js.delete_consumer(EVENTS_STREAM, name)
        except Exception:  # it expires on its own after inactive_threshold
            log.debug("replay consumer %s left to expire", name)
    return replayed


async def recover_trust(
    nc: Client,
    since: float,
    forget: Callable[[str], None],
    forget_all: Callable[[str], None],
    why: str,
    backoff: float = 1.0,
) -> int | None:
    """Forget the agents of the registry events since `since` (retried); when that keeps
    failing, `forget_all(reason)`. The number replayed, or None when all trust was dropped."""
    started = datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds")
    for attempt in range(1, REPLAY_ATTEMPTS + 1):
        try:
            replayed = await replay_registry_events(nc, since, forget)
        except Exception as exc:
            log.warning(
                "%s: replaying registry agent events since %s failed (attempt %d of %d): %r",
                why,
                started,
                attempt,
                REPLAY_ATTEMPTS,
                exc,
            )
            if attempt < REPLAY_ATTEMPTS:
                await asyncio.sleep(backoff * attempt)
            continue
        log.info("%s: replayed %d registry agent events since %s", why, replayed, started)
        return replayed
    forget_all(f"{why}: registry agent events since {started} could not be replayed")
    return None
