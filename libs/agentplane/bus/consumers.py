"""JetStream consumers that redeliver on failure and park poison messages on a dead letter."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
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


def durable_subscriber(
    host: ServiceHost,
    *,
    stream: str,
    subject: str,
    durable: str,
    handler: StreamHandler,
    only: Callable[[str], bool] | None = None,
) -> None:
    """Deliver every message of `stream` on `subject` to `handler(body, stream_seq)`.

    A raising handler NAKs the message (redelivered up to MAX_DELIVER times, then reported
    by the server's max-deliveries advisory, which `forward_dead_letters` parks). `only`
    skips (and acks) messages by subject before anything decodes them.

    A durable push consumer whose deliver group is the durable name (replicas share it),
    consumed with plain nats-py, one message at a time in stream order: a framework's
    per-message layer cost more than most handlers' work on every event of the system.
    """

    async def on_message(msg: Msg) -> None:
        if only is not None and not only(msg.subject):
            await msg.ack()
            return
        try:
            await handler(msg.data, msg.metadata.sequence.stream)
        except Exception:
            log.exception("%s failed on %s seq %s", durable, stream, msg.metadata.sequence.stream)
            await msg.nak()
            return
        await msg.ack()

    async def subscribe() -> None:
        js = host.broker.connection.jetstream()
        await js.subscribe(
            subject,
            # nats-py requires the deliver group to be the durable name; replicas share it.
            queue=durable,
            durable=durable,
            stream=stream,
            cb=on_message,
            manual_ack=True,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                max_deliver=MAX_DELIVER,
                ack_wait=ACK_WAIT_SECONDS,
            ),
        )

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
