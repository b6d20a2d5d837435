"""JetStream consumers that redeliver on failure and park poison messages on a dead letter."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Awaitable, Callable

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, DeliverPolicy, JStream, NatsBroker
from faststream.nats.annotations import NatsMessage
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError

from agentplane.contracts.streams import (
    ACK_WAIT_SECONDS,
    MAX_DELIVER,
    dead_letter_stream_config,
)
from agentplane.contracts.subjects import Events

log = logging.getLogger("agentplane.consumers")

StreamHandler = Callable[[bytes, int], Awaitable[None]]


def durable_subscriber(
    broker: NatsBroker,
    *,
    stream: str,
    subject: str,
    durable: str,
    handler: StreamHandler,
) -> None:
    """Deliver every message of `stream` on `subject` to `handler(body, stream_seq)`.

    A raising handler NAKs the message (redelivered up to MAX_DELIVER times, then reported
    by the server's max-deliveries advisory, which `forward_dead_letters` parks).
    """

    async def on_message(msg: NatsMessage) -> None:
        sequence = msg.raw_message.metadata.sequence.stream
        await handler(msg.body, sequence)

    on_message.__name__ = durable.replace("-", "_")
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
            ack_policy=AckPolicy.NACK_ON_ERROR,
            config=ConsumerConfig(max_deliver=MAX_DELIVER, ack_wait=ACK_WAIT_SECONDS),
        )
    subscribe(on_message)


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
