"""JetStream consumers that redeliver on failure and park poison messages on a dead letter."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from agentplane.bus.host import ServiceHost
from agentplane.contracts.streams import (
    ACK_WAIT_SECONDS,
    MAX_DELIVER,
    dead_letter_stream_config,
)
from agentplane.contracts.subjects import Events

log = logging.getLogger("agentplane.consumers")

StreamHandler = Callable[[bytes, int], Awaitable[None]]


BatchHandler = Callable[[list[tuple[bytes, int]]], Awaitable[None]]

# Messages handed to a batch handler at once (what has arrived, up to this many).
MAX_BATCH = 500


def durable_subscriber(
    host: ServiceHost,
    *,
    stream: str,
    subject: str,
    durable: str,
    handler: StreamHandler,
    only: Callable[[str], bool] | None = None,
    batch: BatchHandler | None = None,
) -> None:
    """Deliver every message of `stream` on `subject` to `handler(body, stream_seq)`.

    A raising handler NAKs the message (redelivered up to MAX_DELIVER times, then reported
    by the server's max-deliveries advisory, which `forward_dead_letters` parks). `only`
    skips (and acks) messages by subject before anything decodes them. With `batch`, the
    messages that have arrived (up to MAX_BATCH) go to `batch(items)` at once, in stream
    order (one transaction for many events, say); if it raises, they go one by one to
    `handler` as above.

    A durable push consumer whose deliver group is the durable name (replicas share it),
    consumed with plain nats-py, in stream order: a framework's per-message layer cost more
    than most handlers' work on every event of the system.
    """

    async def one(msg: Msg) -> None:
        try:
            await handler(msg.data, msg.metadata.sequence.stream)
        except Exception:
            log.exception("%s failed on %s seq %s", durable, stream, msg.metadata.sequence.stream)
            await msg.nak()
            return
        await msg.ack()

    async def on_message(msg: Msg) -> None:
        if only is not None and not only(msg.subject):
            await msg.ack()
            return
        await one(msg)

    async def consume(sub: Subscription) -> None:
        assert batch is not None
        while True:
            msgs = [await sub.next_msg(timeout=None)]
            while len(msgs) < MAX_BATCH and sub.pending_msgs > 0:
                msgs.append(await sub.next_msg(timeout=None))
            wanted = [m for m in msgs if only is None or only(m.subject)]
            skipped = [m for m in msgs if only is not None and not only(m.subject)]
            try:
                if wanted:
                    await batch([(m.data, m.metadata.sequence.stream) for m in wanted])
            except Exception:
                log.warning("%s: a batch of %d failed; one by one", durable, len(wanted))
                for msg in wanted:
                    await one(msg)  # acks or naks each
            else:
                for msg in wanted:
                    await msg.ack()
            for msg in skipped:
                await msg.ack()

    async def subscribe() -> None:
        js = host.broker.connection.jetstream()
        sub = await js.subscribe(
            subject,
            # nats-py requires the deliver group to be the durable name; replicas share it.
            queue=durable,
            durable=durable,
            stream=stream,
            cb=None if batch is not None else on_message,
            manual_ack=True,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                max_deliver=MAX_DELIVER,
                ack_wait=ACK_WAIT_SECONDS,
            ),
        )
        if batch is not None:
            host.spawn(consume(sub))

    host.after_connect(subscribe)


async def forward_dead_letters(nc: Client, stream: str, durable: str) -> None:
    """Copy messages that exhausted their deliveries to `ap.deadletter.<durable>`."""
    js = nc.jetstream()
    config = dead_letter_stream_config()
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)

    async def on_advisory(advisory: Msg) -> None:
        info = json.loads(advisory.data)
        sequence = info.get("stream_seq")
        try:
            original = await js.get_msg(stream, sequence)
        except NotFoundError:
            return
        log.error("%s gave up on %s seq %s; parked on dead letter", durable, stream, sequence)
        await js.publish(
            f"{Events.DEAD_LETTER}.{durable}",
            original.data or b"",
            headers={
                "Nats-Msg-Id": f"dead:{stream}:{sequence}:{durable}",
                "Agentplane-Stream": stream,
                "Agentplane-Stream-Seq": str(sequence),
                "Agentplane-Subject": original.subject or "",
            },
        )

    await nc.subscribe(
        f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{durable}", cb=on_advisory
    )
