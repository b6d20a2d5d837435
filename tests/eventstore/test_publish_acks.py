"""PublishAcks against a real NATS server: a batch ends when all its acks came (with the
highest stream sequence), on the first error, or at its timeout; late acks are ignored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import nats
import orjson
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import APIError, NoStreamResponseError

from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events
from agentplane.eventstore.publish_acks import PublishAcks
from agentplane.eventstore.relay import MSG_ID, ensure_events_stream
from agentplane.testing.nats import NatsServer


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:
    client = await nats.connect(nats_server.url)
    await ensure_events_stream(client.jetstream())
    yield client
    await client.close()


async def started(nc: Client) -> PublishAcks:
    acks = PublishAcks(nc)
    await acks.start()
    return acks


async def test_a_batch_waits_for_every_ack_and_gives_the_highest_sequence(nc: Client) -> None:
    acks = await started(nc)
    subject = Events.subject(f"acks_{uuid4().hex[:8]}", "test.Thing.Created")
    batch = acks.batch()
    ids = [uuid4().hex for _ in range(5)]
    for msg_id in ids:
        await nc.publish(subject, b"{}", reply=batch.reply(), headers={MSG_ID: msg_id})
    sequence = await acks.wait(batch, 5.0)
    last = await nc.jetstream().get_last_msg(EVENTS_STREAM, subject)
    assert sequence == last.seq
    assert not acks._pending

    # Copies (same Nats-Msg-Id) are acked as duplicates with their original sequence.
    again = acks.batch()
    for msg_id in ids[:2]:
        await nc.publish(subject, b"{}", reply=again.reply(), headers={MSG_ID: msg_id})
    assert await acks.wait(again, 5.0) < sequence


async def test_an_empty_batch_ends_at_once(nc: Client) -> None:
    acks = await started(nc)
    assert await acks.wait(acks.batch(), 0.5) == 0


async def test_no_stream_for_the_subject_fails_the_batch(nc: Client) -> None:
    acks = await started(nc)
    batch = acks.batch()
    await nc.publish(f"nostream.{uuid4().hex}", b"{}", reply=batch.reply())
    with pytest.raises(NoStreamResponseError):
        await acks.wait(batch, 5.0)
    assert not acks._pending


async def test_an_error_ack_fails_the_batch_and_the_rest_is_dropped(nc: Client) -> None:
    acks = await started(nc)
    subject = f"fake-stream.{uuid4().hex}"

    async def refuse(msg: Msg) -> None:
        error = {"code": 503, "err_code": 10077, "description": "maximum messages exceeded"}
        await nc.publish(msg.reply, orjson.dumps({"error": error}))

    async def ignore(msg: Msg) -> None:
        pass

    sub = await nc.subscribe(subject, cb=refuse, max_msgs=1)
    silent = f"silent.{uuid4().hex}"
    await nc.subscribe(silent, cb=ignore)  # a responder that never answers
    batch = acks.batch()
    await nc.publish(subject, b"{}", reply=batch.reply())
    await nc.publish(silent, b"{}", reply=batch.reply())
    with pytest.raises(APIError) as refused:
        await acks.wait(batch, 5.0)
    assert refused.value.err_code == 10077
    assert not acks._pending
    await sub.unsubscribe()


async def test_a_missing_ack_times_out_and_its_late_ack_is_ignored(nc: Client) -> None:
    acks = await started(nc)
    subject = f"slow-stream.{uuid4().hex}"
    held: list[Msg] = []

    async def hold(msg: Msg) -> None:
        held.append(msg)  # a responder that answers only after the batch gave up

    await nc.subscribe(subject, cb=hold)
    batch = acks.batch()
    await nc.publish(subject, b"{}", reply=batch.reply())
    with pytest.raises(TimeoutError):
        await acks.wait(batch, 0.3)
    assert not acks._pending

    await nc.publish(held[0].reply, orjson.dumps({"stream": "X", "seq": 7}))
    await nc.flush()
    # The next batch is not counted down by the late ack of the one before.
    later = acks.batch()
    await nc.publish(subject, b"{}", reply=later.reply())
    await nc.flush()
    with pytest.raises(TimeoutError):
        await acks.wait(later, 0.3)
