"""The kill timer: drains and unhealthy agents that ran out of time are killed, decided only by
a state machine that has applied the event stream up to its end."""

from __future__ import annotations

import asyncio
import logging

from nats.js import JetStreamContext

from agentplane.bus.durable_state import caught_up
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.lifecycle.lifecycles import Lifecycles
from agentplane.lifecycle.progress import Progress

log = logging.getLogger("agentplane.lifecycle")

# How often the control plane looks for drains and unhealthy agents that have run out of time.
KILL_CHECK_SECONDS = 1.0


async def kill_overdue_forever(
    js: JetStreamContext,
    machine: Progress,
    machine_consumer: str,
    lifecycles: Lifecycles,
    drain_timeout_seconds: float,
    kill_after_seconds: float,
) -> None:
    while True:
        await asyncio.sleep(KILL_CHECK_SECONDS)
        try:
            # Only a machine that has applied the stream decides: while it replays history
            # (a new consumer, a long outage) old UNHEALTHY spells would look overdue although
            # later events end them.
            if not await caught_up(
                js, EVENTS_STREAM, machine_consumer, machine, KILL_CHECK_SECONDS
            ):
                continue
            await asyncio.to_thread(
                lifecycles.kill_overdue, drain_timeout_seconds, kill_after_seconds
            )
        except Exception:
            log.exception("kill check failed; retrying")
