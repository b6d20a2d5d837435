"""JetStream consumers that retry failures with exponential backoff and park what still fails.

A handler that raises gets its message again after RETRY_BACKOFF_SECONDS[n] (a delayed NAK:
1 s, 2 s, 4 s … capped at 2 min, about ten minutes in all); when the last delivery fails too,
the consumer parks the message on `ap.deadletter.<durable>` (AP_DEADLETTER stream), logs it
at ERROR and counts it, and terminates it. A message whose last delivery never came back (the
process died holding it) is parked from the server's max-deliveries advisory instead.
`agentplane events redrive` hands parked messages back to their consumer (`ap.redrive.<durable>`)
once the cause is fixed; the handler gets the original stream sequence, so it stays idempotent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from agentplane.bus.arrivals import Arrivals, stream_sequence
from agentplane.bus.durable_state import refilter
from agentplane.bus.handlers import replying
from agentplane.bus.host import ServiceHost
from agentplane.contracts.dead_letters import RedriveDeadLetter, Redriven
from agentplane.contracts.streams import (
    ACK_WAIT_SECONDS,
    RETRY_BACKOFF_SECONDS,
    DeadLetterHeaders,
    dead_letter_stream_config,
)
from agentplane.contracts.subjects import Events

log = logging.getLogger("agentplane.consumers")

StreamHandler = Callable[[bytes, int], Awaitable[None]]
# (body, stream sequence) of what arrived together, in stream order
BatchHandler = Callable[[list[tuple[bytes, int]]], Awaitable[None]]

# Messages handed to a batch handler at once (what has arrived, up to this many).
MAX_BATCH = 500
# Messages this process parked, per durable consumer (the dead-letter stream holds the rest).
DEAD_LETTERS: Counter[str] = Counter()
_ERROR_HEADER_MAX = 500


async def ensure_dead_letter_stream(js: JetStreamContext) -> None:
    config = dead_letter_stream_config()
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)


async def park(
    nc: Client,
    *,
    durable: str,
    stream: str,
    sequence: int,
    subject: str,
    body: bytes,
    error: str,
) -> None:
    """Put a message its consumer gave up on where an operator finds and redrives it."""
    js = nc.jetstream()
    await ensure_dead_letter_stream(js)
    await js.publish(
        Events.dead_letter_of(durable),
        body,
        headers={
            # One dead letter per message and consumer, whichever path parks it.
            "Nats-Msg-Id": f"dead:{stream}:{sequence}:{durable}",
            DeadLetterHeaders.STREAM: stream,
            DeadLetterHeaders.SEQUENCE: str(sequence),
            DeadLetterHeaders.SUBJECT: subject,
            DeadLetterHeaders.ERROR: error[:_ERROR_HEADER_MAX],
        },
    )
    DEAD_LETTERS[durable] += 1
    log.error(
        "dead letter: %s gave up on %s seq %d (%s); parked on %s (%d parked by this process)",
        durable, stream, sequence, error, Events.dead_letter_of(durable), DEAD_LETTERS[durable],
    )  # fmt: skip


def durable_subscriber(
    host: ServiceHost,
    *,
    stream: str,
    subject: str | Sequence[str],
    durable: str,
    handler: StreamHandler,
    batch: BatchHandler | None = None,
    backoff: Sequence[float] = RETRY_BACKOFF_SECONDS,
    linger: float = 0.0,
) -> Arrivals:
    """Deliver every message of `stream` on `subject` to `handler(body, stream_seq)`.

    `subject` may be several subjects (wildcards allowed, none overlapping): the server
    filters, so a consumer that wants a few event types of a busy stream is never sent, nor
    acknowledges, the rest. A durable created with other subjects is updated in place (its
    position and unacknowledged messages are kept; what it held of subjects it no longer
    wants may still come once, so handlers keep ignoring what they do not handle).
    Also answers redrives of its dead letters and parks what the server gave up on.
    `backoff` is the wait before each retry (tests shorten it). With `batch`, the messages that have
    arrived (up to MAX_BATCH) go to `batch(items)` at once, in stream order (one transaction
    for many events, say); if it raises, they go one by one to `handler`, so a poison message
    fails alone and is retried and parked as above. `linger` (seconds, with `batch`): while
    events keep coming (the last batch ended less than `linger` ago), wait that long for more
    before handing a short batch over; a handler whose cost is mostly per batch (a
    transaction, a thread hop) then pays it once for many events of a storm, and an event
    after a quiet spell is handed over at once. Returns the consumer's `Arrivals`: a reader
    that waits for the handler to catch up does so inside `reader_waiting()`, which ends a
    linger at once, so a long linger costs read-after-write nothing.

    A durable push consumer whose deliver group is the durable name (replicas share it),
    consumed with plain nats-py: a framework's per-message layer cost more than most
    handlers' work on every event of the system.
    """
    max_deliver = len(backoff) + 1

    async def failed(msg: Msg, exc: Exception) -> None:
        meta = msg.metadata
        sequence, attempt = meta.sequence.stream, meta.num_delivered
        if attempt < max_deliver:
            delay = backoff[attempt - 1]
            log.warning(
                "%s failed on %s seq %d (delivery %d of %d), retrying in %.0f s: %r",
                durable, stream, sequence, attempt, max_deliver, delay, exc,
                exc_info=exc,
            )  # fmt: skip
            await msg.nak(delay=delay)
            return
        log.error("%s failed on %s seq %d for the last time", durable, stream, sequence,
                  exc_info=exc)  # fmt: skip
        await park(
            host.broker.connection,
            durable=durable,
            stream=stream,
            sequence=sequence,
            subject=msg.subject,
            body=msg.data,
            error=repr(exc),
        )
        await msg.term()

    async def one(msg: Msg) -> None:
        try:
            await handler(msg.data, stream_sequence(msg))
        except Exception as exc:
            await failed(msg, exc)
            return
        await msg.ack()

    arrivals = Arrivals()

    async def consume() -> None:
        assert batch is not None
        loop = asyncio.get_running_loop()
        done = float("-inf")
        while True:
            await arrivals.wait()
            if loop.time() - done < linger and len(arrivals) < MAX_BATCH:
                await arrivals.linger(linger)
            msgs = arrivals.take(MAX_BATCH)
            try:
                await batch([(m.data, stream_sequence(m)) for m in msgs])
            except Exception:
                log.warning("%s: a batch of %d failed; one by one", durable, len(msgs))
                for msg in msgs:
                    await one(msg)  # acks, delays or parks each
            else:
                for msg in msgs:
                    await msg.ack()
            done = loop.time()

    @replying(RedriveDeadLetter)
    async def on_redrive(request: RedriveDeadLetter) -> Redriven:
        # Errors reach the caller (the dead letter stays parked); the handler is idempotent by
        # sequence, so a redrive of something already processed changes nothing.
        await handler(base64.b64decode(request.body), request.sequence)
        log.info("%s processed redriven %s seq %d", durable, request.stream, request.sequence)
        return Redriven(durable=durable, sequence=request.sequence)

    async def on_max_deliveries(msg: Msg) -> None:
        info = json.loads(msg.data)
        sequence = int(info.get("stream_seq", 0))
        nc = host.broker.connection
        try:
            original = await nc.jetstream().get_msg(stream, sequence)
        except NotFoundError:
            return
        await park(
            nc,
            durable=durable,
            stream=stream,
            sequence=sequence,
            subject=original.subject or "",
            body=original.data or b"",
            error=f"no acknowledgement after {info.get('deliveries', max_deliver)} deliveries",
        )

    subjects = [subject] if isinstance(subject, str) else list(subject)

    async def subscribe() -> None:
        nc = host.broker.connection
        await nc.subscribe(max_deliveries_advisory(stream, durable), queue=durable,
                           cb=on_max_deliveries)  # fmt: skip
        js = nc.jetstream()
        await refilter(js, stream, durable, subjects)
        arrivals.clear()
        await js.subscribe(
            subjects[0],
            # nats-py requires the deliver group to be the durable name; replicas share it.
            queue=durable,
            durable=durable,
            stream=stream,
            # Batches are taken from what the callback collected: `next_msg` costs a task,
            # a timeout wrapper and a uuid per message.
            cb=one if batch is None else arrivals.put,
            # Acknowledged here: a delayed NAK (backoff) or park-and-terminate on failure.
            manual_ack=True,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                max_deliver=max_deliver,
                ack_wait=ACK_WAIT_SECONDS,
                # Several subjects: nats-py filters on `subjects[0]` unless these are set.
                filter_subjects=subjects if len(subjects) > 1 else None,
            ),
        )
        if batch is not None:
            host.spawn(consume())

    on_redrive.__name__ = f"{durable.replace('-', '_')}_redrive"
    host.handle(Events.redrive(durable), on_redrive, queue=durable)
    host.after_connect(subscribe)
    return arrivals


def max_deliveries_advisory(stream: str, durable: str) -> str:
    return f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{durable}"
