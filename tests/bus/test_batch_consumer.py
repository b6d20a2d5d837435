"""The batch pull consumer: whole batches in stream order, a poison message fails alone and is
parked on the dead letter, a new consumer starts after what its caller already applied."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import nats

from agentplane.bus.batch_consumer import consume_batches
from agentplane.bus.consumers import forward_dead_letters
from agentplane.contracts.streams import DEAD_LETTER_STREAM, MAX_DELIVER
from agentplane.contracts.subjects import Events
from agentplane.testing.nats import NatsServer


async def test_batches_in_order_poison_alone_then_dead_lettered(nats_server: NatsServer) -> None:
    stream = f"B_{uuid4().hex[:8].upper()}"
    subject = f"test.{stream}.events"
    durable = f"b-{stream.lower()}"
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[subject])
    texts = [f"m{n}" for n in range(300)]
    texts[150] = "poison"
    # Published before the consumer exists; the first 10 count as applied already.
    for text in texts:
        await js.publish(subject, text.encode())

    handled: list[str] = []
    batches: list[int] = []
    poison_attempts = 0

    async def handler(items: list[tuple[bytes, int]]) -> None:
        nonlocal poison_attempts
        bodies = [body.decode() for body, _ in items]
        if "poison" in bodies:
            if len(bodies) == 1:
                poison_attempts += 1
            raise RuntimeError("cannot handle it")  # all or none, like a view transaction
        batches.append(len(bodies))
        handled.extend(bodies)

    await forward_dead_letters(nc, stream, durable)
    dead = await js.subscribe(f"{Events.DEAD_LETTER}.{durable}", stream=DEAD_LETTER_STREAM)

    def consumer() -> asyncio.Task[None]:
        return asyncio.create_task(
            consume_batches(
                nc, stream=stream, subject=subject, durable=durable, handler=handler,
                start_after=10,
            )
        )  # fmt: skip

    async def until(count: int) -> None:
        for _ in range(100):
            if len(handled) >= count:
                return
            await asyncio.sleep(0.1)

    task = consumer()
    try:
        parked = await dead.next_msg(timeout=20)
        assert parked.data == b"poison"
        await until(289)
        expected = [t for t in texts[10:] if t != "poison"]
        assert handled == expected  # each once, in stream order
        assert poison_attempts == MAX_DELIVER
        info = await js.consumer_info(stream, durable)
        assert info.num_ack_pending == 0 and info.config.max_deliver == MAX_DELIVER
        # Stopped, 100 more published, started again: it resumes where it was, in a batch.
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        # Its last pull request expires on the server (else what it took waits for ack_wait).
        await asyncio.sleep(1.5)
        batches.clear()
        more = [f"n{n}" for n in range(100)]
        for text in more:
            await js.publish(subject, text.encode())
        task = consumer()
        await until(389)
        assert handled == expected + more
        assert max(batches) > 1  # batches, not one message at a time
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await nc.close()
