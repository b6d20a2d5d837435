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

import base64
import json
import logging
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, DeliverPolicy, JStream, NatsBroker
from faststream.nats.annotations import NatsMessage
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from agentplane.bus.handlers import replying
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
    broker: NatsBroker,
    *,
    stream: str,
    subject: str,
    durable: str,
    handler: StreamHandler,
    backoff: Sequence[float] = RETRY_BACKOFF_SECONDS,
) -> None:
    """Deliver every message of `stream` on `subject` to `handler(body, stream_seq)`.

    Also answers redrives of its dead letters and parks what the server gave up on.
    `backoff` is the wait before each retry (tests shorten it).
    """
    max_deliver = len(backoff) + 1

    async def on_message(msg: NatsMessage) -> None:
        raw = msg.raw_message
        meta = raw.metadata
        sequence = meta.sequence.stream
        attempt = meta.num_delivered
        try:
            await handler(msg.body, sequence)
        except Exception as exc:
            if attempt < max_deliver:
                delay = backoff[attempt - 1]
                log.warning(
                    "%s failed on %s seq %d (delivery %d of %d), retrying in %.0f s: %r",
                    durable, stream, sequence, attempt, max_deliver, delay, exc,
                    exc_info=exc,
                )  # fmt: skip
                await raw.nak(delay=delay)
                return
            log.error("%s failed on %s seq %d for the last time", durable, stream, sequence,
                      exc_info=exc)  # fmt: skip
            await park(
                broker.connection,
                durable=durable,
                stream=stream,
                sequence=sequence,
                subject=raw.subject,
                body=msg.body,
                error=repr(exc),
            )
            await raw.term()
            return
        await raw.ack()

    @replying(RedriveDeadLetter)
    async def on_redrive(request: RedriveDeadLetter) -> Redriven:
        # Errors reach the caller (the dead letter stays parked); the handler is idempotent by
        # sequence, so a redrive of something already processed changes nothing.
        await handler(base64.b64decode(request.body), request.sequence)
        log.info("%s processed redriven %s seq %d", durable, request.stream, request.sequence)
        return Redriven(durable=durable, sequence=request.sequence)

    async def on_max_deliveries(msg: NatsMessage) -> None:
        info = json.loads(msg.body)
        sequence = int(info.get("stream_seq", 0))
        try:
            original = await broker.connection.jetstream().get_msg(stream, sequence)
        except NotFoundError:
            return
        await park(
            broker.connection,
            durable=durable,
            stream=stream,
            sequence=sequence,
            subject=original.subject or "",
            body=original.data or b"",
            error=f"no acknowledgement after {info.get('deliveries', max_deliver)} deliveries",
        )

    name = durable.replace("-", "_")
    on_message.__name__ = name
    on_redrive.__name__ = f"{name}_redrive"
    on_max_deliveries.__name__ = f"{name}_max_deliveries"
    with warnings.catch_warnings():
        # FastStream warns about durable push consumers; the deliver group makes them scale.
        warnings.simplefilter("ignore", RuntimeWarning)
        subscribe = broker.subscriber(
            subject,
            # nats-py requires the deliver group to be the durable name; replicas share it.
            queue=durable,
            durable=durable,
            stream=JStream(stream, declare=False),
            deliver_policy=DeliverPolicy.ALL,
            # Acknowledged here: a delayed NAK (backoff) or park-and-terminate on failure.
            ack_policy=AckPolicy.MANUAL,
            config=ConsumerConfig(max_deliver=max_deliver, ack_wait=ACK_WAIT_SECONDS),
        )
    subscribe(on_message)

    async def redrive(msg: NatsMessage) -> bytes:
        return await on_redrive(msg.body)

    redrive.__name__ = on_redrive.__name__
    broker.subscriber(Events.redrive(durable), queue=durable)(redrive)
    broker.subscriber(max_deliveries_advisory(stream, durable), queue=durable)(on_max_deliveries)


def max_deliveries_advisory(stream: str, durable: str) -> str:
    return f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{durable}"
