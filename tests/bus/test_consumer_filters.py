"""Durable consumers are sent only the subjects they follow (the server filters), a durable
created with other subjects is updated in place without losing its place or what it had not
acknowledged, and read-after-write waits know what a filtering consumer was sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import uuid4

import nats
from nats.aio.client import Client

from agentplane.bus.consumers import (
    StreamHandler,
    durable_subscriber,
    ensure_dead_letter_stream,
)
from agentplane.bus.durable_state import caught_up
from agentplane.bus.host import ServiceHost
from agentplane.contracts.events.registry import AgentRegistered
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events
from agentplane.lifecycle.progress import Progress
from agentplane.testing.nats import NatsServer
from agentplane.testing.system import RunningSystem

# A retry long enough that the failed message is still waiting when the consumer changes.
BACKOFF = (2.0, 2.0)


async def _stream(nc: Client) -> tuple[str, str]:
    stream = f"F_{uuid4().hex[:8].upper()}"
    await nc.jetstream().add_stream(name=stream, subjects=[f"f.{stream}.>"])
    await ensure_dead_letter_stream(nc.jetstream())
    return stream, f"f.{stream}"


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def test_a_changed_filter_is_applied_in_place_and_only_followed_subjects_arrive(
    nats_server: NatsServer,
) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    stream, base = await _stream(nc)
    durable = f"c-{stream.lower()}"
    received: list[tuple[str, str]] = []  # (host, body)
    failed_once: set[str] = set()

    def handler_of(name: str) -> StreamHandler:
        async def handler(body: bytes, sequence: int) -> None:
            text = body.decode()
            if text.startswith("retry") and text not in failed_once:
                failed_once.add(text)
                raise RuntimeError("not yet")  # delayed NAK: still unacknowledged later
            received.append((name, text))

        return handler

    # Version 1 of the service takes every subject of the stream.
    old = ServiceHost(f"test-filter-old-{stream.lower()}", nats_server.url)
    durable_subscriber(old, stream=stream, subject=f"{base}.>", durable=durable,
                       handler=handler_of("old"), backoff=BACKOFF)  # fmt: skip
    await old.start()
    try:
        await js.publish(f"{base}.noise", b"noise-1")
        await js.publish(f"{base}.wanted", b"retry-1")
        await _until(lambda: "retry-1" in failed_once, "the first delivery failed")
        await _until(lambda: ("old", "noise-1") in received, "the old consumer took all")
    finally:
        await old.stop()
    # While no one listens: a followed and an unfollowed message.
    await js.publish(f"{base}.noise", b"noise-2")
    await js.publish(f"{base}.wanted", b"wanted-2")

    # Version 2 follows two subjects only: the same durable, refiltered.
    new = ServiceHost(f"test-filter-new-{stream.lower()}", nats_server.url)
    follows = [f"{base}.wanted", f"{base}.other"]
    durable_subscriber(new, stream=stream, subject=follows, durable=durable,
                       handler=handler_of("new"), backoff=BACKOFF)  # fmt: skip
    await new.start()
    try:
        info = await js.consumer_info(stream, durable)
        assert info.config.filter_subjects == follows and not info.config.filter_subject
        for n in range(50):
            await js.publish(f"{base}.noise", f"noise-{n + 3}".encode())
        await js.publish(f"{base}.other", b"other-3")
        # Kept its place (wanted-2 came) and its unacknowledged message (retry-1 again).
        await _until(lambda: {("new", "retry-1"), ("new", "other-3")} <= set(received),
                     "the new consumer got what it follows")  # fmt: skip
        new_bodies = [body for host, body in received if host == "new"]
        assert sorted(new_bodies) == ["other-3", "retry-1", "wanted-2"], received
        # The server sent none of the 51 unfollowed messages (stream order: all of them
        # came before other-3, which has arrived).
        info = await js.consumer_info(stream, durable)
        assert info.num_pending == 0 and info.num_ack_pending == 0
        assert info.delivered.consumer_seq < 10, info.delivered
    finally:
        await new.stop()
        await nc.close()


async def test_caught_up_knows_what_a_filtering_consumer_was_sent(
    nats_server: NatsServer,
) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    stream, base = await _stream(nc)
    durable = f"c-{stream.lower()}"
    progress = Progress()
    hold = asyncio.Event()
    hold.set()

    async def handler(body: bytes, sequence: int) -> None:
        await hold.wait()
        await progress.applied(sequence)

    host = ServiceHost(f"test-caught-up-{stream.lower()}", nats_server.url)
    durable_subscriber(host, stream=stream, subject=f"{base}.wanted", durable=durable,
                       handler=handler, backoff=BACKOFF)  # fmt: skip
    await host.start()
    try:
        wanted = await js.publish(f"{base}.wanted", b"1")
        last = await js.publish(f"{base}.noise", b"2")
        assert await caught_up(js, stream, durable, progress, timeout=30)
        # Caught up although the stream's last event (not followed) is beyond it.
        assert progress.applied_seq == wanted.seq < last.seq
        # Sent but not applied yet: not caught up within the wait.
        hold.clear()
        await js.publish(f"{base}.wanted", b"3")
        assert not await caught_up(js, stream, durable, progress, timeout=0.3)
        hold.set()
        assert await caught_up(js, stream, durable, progress, timeout=30)
    finally:
        hold.set()
        await host.stop()
        await nc.close()


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` one token, `>` the rest."""
    want, have = pattern.split("."), subject.split(".")
    for n, token in enumerate(want):
        if token == ">":
            return len(have) > n
        if n >= len(have) or (token != "*" and token != have[n]):
            return False
    return len(want) == len(have)


async def test_a_registration_is_sent_only_to_the_consumers_that_use_it(
    system: RunningSystem,
) -> None:
    registered = Events.subject("registry", AgentRegistered.TYPE)
    uses_it = {"lifecycle-audit": True, "diagnostics-catalog": False,
               "lifecycle-machine": False, "messaging-registry-events": False,
               "registry-nats-revocation": False}  # fmt: skip
    nc = await system.nats_connect()
    try:
        js = nc.jetstream()
        for durable, used in uses_it.items():
            config = (await js.consumer_info(EVENTS_STREAM, durable)).config
            filters = config.filter_subjects or [config.filter_subject]
            assert all(f and f != Events.ALL for f in filters), (durable, filters)
            assert any(_matches(f, registered) for f in filters) is used, (durable, filters)
    finally:
        await nc.close()
