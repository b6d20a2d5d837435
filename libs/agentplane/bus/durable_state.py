"""A durable consumer's state on the server: its filter subjects and how far it was sent.

`refilter` updates a durable's filter in place; `caught_up` is read-after-write for a
consumer that filters, whose position never reaches the stream's last sequence.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from nats.js.errors import NotFoundError

log = logging.getLogger("agentplane.consumers")


async def refilter(js: JetStreamContext, stream: str, durable: str, subjects: list[str]) -> None:
    """Give an existing durable consumer these filter subjects (nothing when it has them or
    does not exist yet). The server updates it in place, keeping its position and the
    messages it has delivered and not yet seen acknowledged; replicas racing here ask for
    the same config, so the second update changes nothing."""
    try:
        info = await js.consumer_info(stream, durable)
    except NotFoundError:
        return
    config = info.config
    if filters_of(config) == subjects:
        return
    log.info("%s: filter subjects %s → %s", durable, filters_of(config), subjects)
    config.filter_subject, config.filter_subjects = (
        (subjects[0], None) if len(subjects) == 1 else (None, subjects)
    )
    await js.add_consumer(stream, config=config)


def filters_of(config: ConsumerConfig) -> list[str]:
    if config.filter_subjects:
        return list(config.filter_subjects)
    return [config.filter_subject] if config.filter_subject else []


class Applied(Protocol):
    """How far a consumer's handler has applied the stream (its highest sequence)."""

    applied_seq: int

    async def wait_applied(self, sequence: int, timeout: float) -> None: ...


async def caught_up(
    js: JetStreamContext, stream: str, durable: str, progress: Applied, timeout: float
) -> bool:
    """Wait (bounded) until `progress` has applied what the durable consumer was sent of
    `stream` and nothing it filters waits undelivered: read-after-write for a consumer that
    filters, whose position never reaches the stream's last sequence when that event is one
    it does not receive. True when caught up within `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            info = await js.consumer_info(stream, durable)
        except NotFoundError:
            return True  # not subscribed yet: nothing was sent
        delivered = info.delivered.stream_seq or 0
        # More of its subjects waiting: at least one beyond what was sent is to be applied.
        target = delivered + 1 if info.num_pending else delivered
        await progress.wait_applied(target, max(0.0, deadline - loop.time()))
        if progress.applied_seq < target:
            return False
        if not info.num_pending:
            return True
