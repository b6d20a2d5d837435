"""JetStream consumers retry failures with growing delays, park what still fails, and
`agentplane events redrive` hands parked messages back once the cause is fixed."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import subprocess
import time
from pathlib import Path
from uuid import uuid4

import nats
import pytest
from nats.aio.client import Client

from agentplane.bus.consumers import (
    DEAD_LETTERS,
    BatchHandler,
    StreamHandler,
    durable_subscriber,
    ensure_dead_letter_stream,
)
from agentplane.bus.host import ServiceHost
from agentplane.contracts.streams import (
    DEAD_LETTER_STREAM,
    EVENTS_STREAM,
    MAX_DELIVER,
    RETRY_BACKOFF_SECONDS,
    DeadLetterHeaders,
)
from agentplane.contracts.subjects import Events
from agentplane.testing.nats import NatsServer
from agentplane.testing.system import RunningSystem, agentplane_command

# Short waits for the tests; the services use RETRY_BACKOFF_SECONDS.
BACKOFF = (0.3, 0.6, 1.2)


async def _stream(nc: Client) -> tuple[str, str, str]:
    stream = f"T_{uuid4().hex[:8].upper()}"
    subject = f"test.{stream}.events"
    await nc.jetstream().add_stream(name=stream, subjects=[subject])
    await ensure_dead_letter_stream(nc.jetstream())
    return stream, subject, f"c-{stream.lower()}"


def test_the_services_retry_for_at_least_ten_minutes_with_growing_waits() -> None:
    waits = list(RETRY_BACKOFF_SECONDS)
    assert sum(waits) >= 600, waits
    assert waits == sorted(waits) and waits[0] <= 1, waits
    assert MAX_DELIVER == len(waits) + 1


async def test_failures_are_retried_with_growing_delays_then_dead_lettered(
    nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    stream, subject, durable = await _stream(nc)
    attempts: dict[str, list[float]] = {}
    handled: list[str] = []

    async def handler(body: bytes, sequence: int) -> None:
        text = body.decode()
        attempts.setdefault(text, []).append(time.monotonic())
        if text == "poison" or (text == "flaky" and len(attempts[text]) < 3):
            raise RuntimeError(f"cannot handle {text} yet")
        handled.append(text)

    host = ServiceHost(f"test-consumer-{stream.lower()}", nats_server.url)
    durable_subscriber(
        host, stream=stream, subject=subject, durable=durable, handler=handler, backoff=BACKOFF
    )
    await host.start()
    dead = await js.subscribe(Events.dead_letter_of(durable), stream=DEAD_LETTER_STREAM)
    with caplog.at_level(logging.WARNING, logger="agentplane.consumers"):
        for text in ("ok", "flaky", "poison"):
            await js.publish(subject, text.encode())
        parked = await dead.next_msg(timeout=30)

    assert parked.data == b"poison"
    headers = parked.headers or {}
    assert headers[DeadLetterHeaders.STREAM] == stream
    assert headers[DeadLetterHeaders.SEQUENCE] == "3"
    assert headers[DeadLetterHeaders.SUBJECT] == subject
    assert "cannot handle poison yet" in headers[DeadLetterHeaders.ERROR]
    # Every delivery, each retry after at least its wait (the server holds a delayed NAK).
    times = attempts["poison"]
    assert len(times) == len(BACKOFF) + 1
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= wait - 0.05 for gap, wait in zip(gaps, BACKOFF, strict=True)), gaps
    # Logged at ERROR and counted.
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and "dead letter" in r.msg]
    assert len(errors) == 1, [r.getMessage() for r in caplog.records]
    assert DEAD_LETTERS[durable] == 1
    for _ in range(100):
        if "flaky" in handled:
            break
        await asyncio.sleep(0.1)
    assert sorted(handled) == ["flaky", "ok"]
    assert len(attempts["flaky"]) == 3
    info = await js.consumer_info(stream, durable)
    assert info.config.max_deliver == len(BACKOFF) + 1
    # Parked once: no later delivery of the terminated message.
    await asyncio.sleep(2 * BACKOFF[-1])
    assert len(attempts["poison"]) == len(BACKOFF) + 1
    await host.stop()
    await nc.close()


def _cli(nats_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTPLANE_")}
    env.update(NATS_URL=nats_url, AGENTPLANE_DATA_DIR=str(data_dir))
    return subprocess.run(
        [*agentplane_command(), "events", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_redrive_after_a_fix_processes_a_dead_letter_once(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    stream, subject, durable = await _stream(nc)
    broken = True
    calls = 0
    processed: set[int] = set()  # what a real handler records with its effect

    async def handler(body: bytes, sequence: int) -> None:
        nonlocal calls
        calls += 1
        if broken:
            raise RuntimeError("the database is down")
        if sequence not in processed:  # idempotent by stream sequence, as every handler is
            processed.add(sequence)

    host = ServiceHost(f"test-redrive-{stream.lower()}", nats_server.url)
    durable_subscriber(
        host, stream=stream, subject=subject, durable=durable, handler=handler, backoff=BACKOFF
    )
    await host.start()
    dead = await js.subscribe(Events.dead_letter_of(durable), stream=DEAD_LETTER_STREAM)
    ack = await js.publish(subject, b'{"job": 1}')
    await dead.next_msg(timeout=30)
    assert calls == len(BACKOFF) + 1 and not processed

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return _cli(nats_server.url, tmp_path, *args)

    listed = await asyncio.to_thread(cli, "redrive", "--list", "--consumer", durable)
    assert listed.returncode == 0, listed.stderr
    [line] = [json.loads(x) for x in listed.stdout.splitlines()]
    assert (line["consumer"], line["stream"], line["sequence"]) == (durable, stream, ack.seq)

    # Not fixed yet: the redrive fails, says so, and the dead letter stays parked.
    failed = await asyncio.to_thread(cli, "redrive", "--consumer", durable)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    outcome = json.loads(failed.stdout)
    assert outcome["result"] == "failed"
    # A bug in the handler: the reason names the request id the consumer logged it under.
    assert "Internal error (request id" in outcome["reason"], outcome
    assert (await asyncio.to_thread(cli, "redrive", "--list", "--consumer", durable)).stdout

    broken = False
    calls_before = calls
    fixed = await asyncio.to_thread(cli, "redrive", "--consumer", durable)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert json.loads(fixed.stdout)["result"] == "redriven"
    assert processed == {ack.seq}
    assert calls == calls_before + 1  # handed back once
    # Nothing left to redrive, and the stream does not deliver it again.
    after = await asyncio.to_thread(cli, "redrive", "--consumer", durable)
    assert after.returncode == 0 and after.stdout == "", after.stdout
    await asyncio.sleep(2 * BACKOFF[-1])
    assert calls == calls_before + 1
    await host.stop()
    await nc.close()


async def test_the_running_system_consumers_retry_and_redrive_lists(
    system: RunningSystem,
) -> None:
    nc = await system.nats_connect()
    try:
        info = await nc.jetstream().consumer_info(EVENTS_STREAM, "lifecycle-audit")
        assert info.config.max_deliver == MAX_DELIVER
    finally:
        await nc.close()
    listed = await asyncio.to_thread(system.cli, "events", "redrive", "--list")
    assert listed.returncode == 0, listed.stderr
    assert "parked 0 dead letter(s)" in listed.stderr


async def test_batches_in_stream_order_and_a_poison_message_fails_alone(
    nats_server: NatsServer,
) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    stream, subject, durable = await _stream(nc)
    texts = [f"m{n}" for n in range(300)]
    texts[150] = "poison"
    for text in texts:  # published before the consumer exists: they arrive together
        await js.publish(subject, text.encode())
    handled: list[str] = []
    batches: list[int] = []
    poison_attempts = 0

    async def one(body: bytes, sequence: int) -> None:
        nonlocal poison_attempts
        if body == b"poison":
            poison_attempts += 1
            raise RuntimeError("cannot handle it")
        handled.append(body.decode())

    async def batch(items: list[tuple[bytes, int]]) -> None:
        bodies = [body.decode() for body, _ in items]
        if "poison" in bodies:
            raise RuntimeError("cannot handle it")  # all or none, like a view transaction
        batches.append(len(bodies))
        handled.extend(bodies)

    host = ServiceHost(f"test-batch-{stream.lower()}", nats_server.url)
    durable_subscriber(
        host, stream=stream, subject=subject, durable=durable, handler=one, batch=batch,
        backoff=BACKOFF,
    )  # fmt: skip
    dead = await js.subscribe(Events.dead_letter_of(durable), stream=DEAD_LETTER_STREAM)
    await host.start()
    try:
        parked = await dead.next_msg(timeout=30)
        assert parked.data == b"poison"
        for _ in range(100):
            if len(handled) >= 299:
                break
            await asyncio.sleep(0.1)
        assert handled == [t for t in texts if t != "poison"]  # each once, in stream order
        assert poison_attempts == len(BACKOFF) + 1
        # The batch that held the poison went one by one; what comes next comes in batches.
        await host.stop()
        more = [f"n{n}" for n in range(100)]
        for text in more:
            await js.publish(subject, text.encode())
        await host.start()
        for _ in range(100):
            if len(handled) >= 399:
                break
            await asyncio.sleep(0.1)
        assert handled == [t for t in texts if t != "poison"] + more
        assert max(batches) > 1
        # Acks are publishes the server takes in after the handler returned: wait for them.
        for _ in range(100):
            info = await js.consumer_info(stream, durable)
            if info.num_ack_pending == 0:
                break
            await asyncio.sleep(0.1)
        assert info.num_ack_pending == 0
    finally:
        await host.stop()
        await nc.close()


def _collecting() -> tuple[list[list[str]], StreamHandler, BatchHandler]:
    """(the batches handed over, a one-event handler and a batch handler that record them)."""
    batches: list[list[str]] = []

    async def one(body: bytes, sequence: int) -> None:
        batches.append([body.decode()])

    async def batch(items: list[tuple[bytes, int]]) -> None:
        batches.append([body.decode() for body, _ in items])

    return batches, one, batch


# Long enough that a loaded machine's scheduling delays between the test's publishes stay
# inside it (one scheduling delay on a busy 2-core machine can take longer than 0.5 s).
LINGER = 2.0


async def test_a_batch_consumer_lingers_for_more_while_events_keep_coming(
    nats_server: NatsServer,
) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    stream, subject, durable = await _stream(nc)
    batches, one, batch = _collecting()

    host = ServiceHost(f"test-linger-{stream.lower()}", nats_server.url)
    durable_subscriber(
        host, stream=stream, subject=subject, durable=durable, handler=one, batch=batch,
        backoff=BACKOFF, linger=LINGER,
    )  # fmt: skip
    await host.start()
    try:
        await js.publish(subject, b"first")
        for _ in range(100):
            if batches:
                break
            await asyncio.sleep(0.05)
        assert batches == [["first"]]
        # Right after a batch: the next event waits for the ones that follow it closely
        # (published back to back, each a round trip: well inside LINGER on a busy machine).
        later = [f"m{n}" for n in range(4)]
        for text in later:
            await js.publish(subject, text.encode())
        for _ in range(400):
            if sum(map(len, batches)) == 5:
                break
            await asyncio.sleep(0.05)
        assert [text for b in batches for text in b] == ["first", *later]
        assert len(batches) < 1 + len(later), batches  # not one batch per event
    finally:
        await host.stop()
        await nc.close()


async def test_a_reader_waiting_for_the_consumer_cuts_its_linger_short(
    nats_server: NatsServer,
) -> None:
    """Read-after-write never waits for a linger: inside `reader_waiting` what has arrived is
    handed over at once, and batches go without lingering until the reader is done."""
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    stream, subject, durable = await _stream(nc)
    batches, one, batch = _collecting()

    async def handed_over(count: int, within: float) -> bool:
        for _ in range(int(within / 0.05)):
            if sum(map(len, batches)) == count:
                return True
            await asyncio.sleep(0.05)
        return False

    host = ServiceHost(f"test-hurry-{stream.lower()}", nats_server.url)
    # Far longer than the test: an event handed over in time was not lingered over.
    arrivals = durable_subscriber(
        host, stream=stream, subject=subject, durable=durable, handler=one, batch=batch,
        backoff=BACKOFF, linger=600.0,
    )  # fmt: skip
    await host.start()
    try:
        await js.publish(subject, b"first")
        assert await handed_over(1, 5.0)
        await js.publish(subject, b"second")  # right after a batch: lingered over
        await asyncio.sleep(0.5)
        assert batches == [["first"]]
        with arrivals.reader_waiting():
            assert await handed_over(2, 5.0), batches  # the linger under way ends
            await js.publish(subject, b"third")  # and none starts while the reader waits
            assert await handed_over(3, 5.0), batches
        assert batches == [["first"], ["second"], ["third"]]
        await js.publish(subject, b"fourth")  # the reader is gone: lingered over again
        await asyncio.sleep(0.5)
        assert len(batches) == 3
    finally:
        await host.stop()
        await nc.close()


def test_the_stream_sequence_is_read_from_either_form_of_the_ack_subject() -> None:
    """What nats-py's `metadata` parses, without building it (the batch consumers' path)."""
    from nats.aio.msg import Msg

    from agentplane.bus.arrivals import stream_sequence

    forms = [
        "$JS.ACK.AP_EVENTS.lifecycle-audit.1.4711.4000.1764966000000000000.3",
        "$JS.ACK.hub.ACCHASH.AP_EVENTS.lifecycle-audit.2.4711.4000.1764966000000000000.3.rand",
    ]
    for reply in forms:
        msg = Msg(None, subject="ap.events.x", reply=reply, data=b"")  # type: ignore[arg-type]
        assert stream_sequence(msg) == msg.metadata.sequence.stream == 4711
