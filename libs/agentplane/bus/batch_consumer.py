"""A durable JetStream pull consumer that hands its handler whole batches.

For consumers of busy streams (the audit log reads every integration event): one fetch, one
handler call (one view transaction) and one ack publish per message, instead of a push
delivery, a thread hop and a transaction per message. Messages are acknowledged only after
the handler returned. A failing batch is retried one message at a time so a poison message
fails alone: it is NAKed, redelivered up to MAX_DELIVER times, then reported by the server's
max-deliveries advisory (which `forward_dead_letters` parks), like the push consumers.
Messages a consumer took but never acknowledged (its process died) come again after
ACK_WAIT_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from agentplane.contracts.streams import ACK_WAIT_SECONDS, MAX_DELIVER

log = logging.getLogger("agentplane.batch_consumer")

# (message body, stream sequence) in stream order
BatchHandler = Callable[[list[tuple[bytes, int]]], Awaitable[None]]

BATCH = 500
FETCH_WAIT_SECONDS = 1.0


def _item(msg: Msg) -> tuple[bytes, int]:
    return msg.data, msg.metadata.sequence.stream


async def consume_batches(
    nc: Client,
    *,
    stream: str,
    subject: str,
    durable: str,
    handler: BatchHandler,
    start_after: int = 0,
    batch: int = BATCH,
) -> None:
    """Run forever. A consumer created now starts after stream sequence `start_after` (what
    the caller already applied, e.g. its tracking position); an existing one resumes."""
    js = nc.jetstream()
    config = ConsumerConfig(
        durable_name=durable,
        filter_subject=subject,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_SECONDS,
        max_deliver=MAX_DELIVER,
        max_ack_pending=batch * 4,
        **(
            {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": start_after + 1}
            if start_after
            else {"deliver_policy": DeliverPolicy.ALL}
        ),
    )
    sub: JetStreamContext.PullSubscription | None = None
    try:
        while True:
            try:
                if sub is None:
                    try:
                        await js.consumer_info(stream, durable)
                    except NotFoundError:
                        await js.add_consumer(stream, config)
                    sub = await js.pull_subscribe_bind(durable, stream)
                msgs = await sub.fetch(batch, timeout=FETCH_WAIT_SECONDS)
            except NatsTimeout:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS reconnecting, stream not there yet: try again
                log.warning("%s: fetch failed (%s); retrying", durable, type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            await _handle(durable, handler, msgs)
    finally:
        if sub is not None:
            await sub.unsubscribe()


async def _handle(durable: str, handler: BatchHandler, msgs: list[Msg]) -> None:
    try:
        await handler([_item(m) for m in msgs])
    except asyncio.CancelledError:
        raise
    except Exception:
        if len(msgs) == 1:
            log.exception("%s: message %d failed; redelivered later", durable, _item(msgs[0])[1])
            await msgs[0].nak()
            return
        for msg in msgs:  # find the one that fails; the others go through
            await _handle(durable, handler, [msg])
        return
    for msg in msgs:
        await msg.ack()
