"""JetStream consumers redeliver failures and park poison messages on the dead letter."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import nats

from agentplane.bus.consumers import durable_subscriber, forward_dead_letters
from agentplane.bus.host import ServiceHost
from agentplane.contracts.streams import DEAD_LETTER_STREAM, MAX_DELIVER
from agentplane.contracts.subjects import Events
from agentplane.testing.nats import NatsServer


async def test_failures_are_redelivered_then_dead_lettered(nats_server: NatsServer) -> None:
    stream = f"T_{uuid4().hex[:8].upper()}"
    subject = f"test.{stream}.events"
    durable = f"c-{stream.lower()}"
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[subject])

    attempts: dict[str, int] = {}
    handled: list[str] = []

    async def handler(body: bytes, sequence: int) -> None:
        text = body.decode()
        attempts[text] = attempts.get(text, 0) + 1
        if text == "poison" or (text == "flaky" and attempts[text] < 3):
            raise RuntimeError("cannot handle it yet")
        handled.append(text)

    host = ServiceHost(f"test-consumer-{stream.lower()}", nats_server.url)
    durable_subscriber(host, stream=stream, subject=subject, durable=durable, handler=handler)

    async def dead_letters() -> None:
        await forward_dead_letters(host.broker.connection, stream, durable)

    host.on_start(dead_letters)
    await host.start()

    dead = await js.subscribe(f"{Events.DEAD_LETTER}.{durable}", stream=DEAD_LETTER_STREAM)
    for text in ("ok", "flaky", "poison"):
        await js.publish(subject, text.encode())

    parked = await dead.next_msg(timeout=20)
    assert parked.data == b"poison"
    assert parked.headers and parked.headers["Agentplane-Stream"] == stream
    assert attempts["poison"] == MAX_DELIVER
    for _ in range(50):
        if "flaky" in handled:
            break
        await asyncio.sleep(0.1)
    assert sorted(handled) == ["flaky", "ok"]
    assert attempts["flaky"] == 3
    info = await js.consumer_info(stream, durable)
    assert info.config.max_deliver == MAX_DELIVER
    await host.stop()
    await nc.close()
