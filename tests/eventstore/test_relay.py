"""OutboxRelay against a real JetStream: every notification lands in AP_EVENTS exactly once,
also after a crash between publishing and storing the position, and after kill -9."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events
from agentplane.eventstore.relay import MSG_ID, OutboxRelay
from agentplane.eventstore.views import ViewStore, open_view_store
from agentplane.settings import Settings
from agentplane.testing.nats import NatsServer

from .things import (
    Thing,
    ThingStore,
    add_things,
    last_position,
    open_things,
    thing_store_class,
    unique_app_name,
)

# The worker is started as `python -m <this package>.relay_worker` from the directory the
# package is imported from, whether or not `tests/` itself is a package.
WORKER = f"{__package__}.relay_worker"
WORKER_CWD = Path(__file__).resolve().parents[len(str(__package__).split("."))]
# Settings the kill -9 child needs to open the same event store and positions.
STORE_FIELDS = {
    "data_dir",
    "event_store",
    "postgres_host",
    "postgres_port",
    "postgres_user",
    "postgres_password",
    "postgres_db",
}


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url)
    yield nc.jetstream()
    await nc.close()


@pytest.fixture
def app_cls() -> type[ThingStore]:
    # The stream is shared by the session: a unique app name keeps subjects, Nats-Msg-Ids
    # and the relay's recovery from the stream apart from other tests.
    return thing_store_class(unique_app_name())


@pytest.fixture
def store(store_settings: Settings, app_cls: type[ThingStore]) -> Iterator[ThingStore]:
    app = open_things(store_settings, app_cls)
    yield app
    app.close()


@pytest.fixture
def positions(store_settings: Settings, store: ThingStore) -> Iterator[ViewStore]:
    views = open_view_store(store_settings, store.name)
    yield views
    views.close()


@contextlib.contextmanager
def fresh_positions(settings: Settings, store: ThingStore) -> Iterator[ViewStore]:
    """A positions store that never saw the relay: a lost file or a restored old backup."""
    views = open_view_store(settings, f"{store.name}_fresh")
    try:
        yield views
    finally:
        views.close()


async def stream_ids(js: JetStreamContext, app: str) -> list[str]:
    """The Nats-Msg-Id of every message of `app` in AP_EVENTS, in stream order."""
    ids: list[str] = []
    seq = 0
    while True:
        try:
            msg = await js.get_msg(
                EVENTS_STREAM, seq=seq + 1, subject=Events.of_app(app), next=True
            )
        except NotFoundError:
            return ids
        ids.append((msg.headers or {})[MSG_ID])
        seq = msg.seq or 0


def recorded_ids(store: ThingStore) -> list[str]:
    notifications = store.recorder.select_notifications(0, 100_000, inclusive_of_start=False)
    return [f"{store.name}:{n.id}" for n in notifications]


async def publish_all(relay: OutboxRelay) -> int:
    total = 0
    while published := await relay.publish_pending():
        total += published
    return total


async def test_publishes_each_event_once(
    js: JetStreamContext, store: ThingStore, positions: ViewStore
) -> None:
    add_things(store, 3)
    relay = OutboxRelay(store, js, positions)
    await relay.start()
    assert await publish_all(relay) == 3
    assert await stream_ids(js, store.name) == recorded_ids(store)

    first = await js.get_msg(EVENTS_STREAM, seq=1, subject=Events.of_app(store.name), next=True)
    assert first.subject == Events.subject(store.name, "test.Thing.Created")
    event = IntegrationEvent.model_validate_json(first.data or b"")
    assert (event.app, event.type) == (store.name, "test.Thing.Created")
    assert event.data["name"] == "thing-0"

    add_things(store, 2, prefix="more")
    assert await publish_all(relay) == 2
    assert await publish_all(relay) == 0
    assert await stream_ids(js, store.name) == recorded_ids(store)
    assert positions.position(relay.tracking_name) == last_position(store)


async def test_restart_without_stored_position_recovers_from_stream(
    js: JetStreamContext, store: ThingStore, positions: ViewStore, store_settings: Settings
) -> None:
    add_things(store, 4)
    first = OutboxRelay(store, js, positions)
    await first.start()
    await publish_all(first)

    with fresh_positions(store_settings, store) as lost:
        restarted = OutboxRelay(store, js, lost)
        await restarted.start()
        assert restarted.position == last_position(store)
        assert await publish_all(restarted) == 0

        add_things(store, 1, prefix="after-restart")
        assert await publish_all(restarted) == 1
    assert await stream_ids(js, store.name) == recorded_ids(store)


async def test_republished_events_are_dropped_by_msg_id(
    js: JetStreamContext, store: ThingStore, positions: ViewStore, store_settings: Settings
) -> None:
    add_things(store, 3)
    first = OutboxRelay(store, js, positions)
    await first.start()
    await publish_all(first)

    with fresh_positions(store_settings, store) as lost:
        blind = OutboxRelay(store, js, lost)
        await blind.start()
        # As if the stream could not tell the last position: the relay sends everything again,
        # and JetStream drops the copies because their Nats-Msg-Ids are in the window.
        blind.position = 0
        assert await publish_all(blind) == 3
    assert await stream_ids(js, store.name) == recorded_ids(store)


class Crash(BaseException):
    """Stands in for the process dying; BaseException so nothing on the way catches it."""


class CrashBeforeStoringPosition(OutboxRelay):
    def _store_position(self, position: int, sequence: int) -> None:
        raise Crash


async def test_crash_between_publish_and_position_store(
    js: JetStreamContext, store: ThingStore, positions: ViewStore
) -> None:
    add_things(store, 5)
    crashing = CrashBeforeStoringPosition(store, js, positions)
    await crashing.start()
    with pytest.raises(Crash):
        await crashing.publish_pending()
    assert positions.position(crashing.tracking_name) == 0

    restarted = OutboxRelay(store, js, positions)
    await restarted.start()
    assert await publish_all(restarted) == 0
    assert await stream_ids(js, store.name) == recorded_ids(store)
    add_things(store, 1, prefix="after-crash")
    assert await publish_all(restarted) == 1
    assert await stream_ids(js, store.name) == recorded_ids(store)


async def test_run_publishes_in_the_background(
    js: JetStreamContext, store: ThingStore, positions: ViewStore
) -> None:
    relay = OutboxRelay(store, js, positions, poll_seconds=5.0)
    await relay.start()
    running = asyncio.create_task(relay.run())
    try:
        add_things(store, 2)
        # wake() makes the relay publish now instead of after poll_seconds.
        assert await relay.wait_published(last_position(store), timeout=3.0)
        assert await stream_ids(js, store.name) == recorded_ids(store)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_kill_9_mid_run_then_restart_publishes_each_event_once(
    js: JetStreamContext,
    nats_server: NatsServer,
    store_settings: Settings,
    app_cls: type[ThingStore],
) -> None:
    app_name = app_cls.name
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        WORKER,
        app_name,
        nats_server.url,
        store_settings.model_dump_json(include=STORE_FIELDS),
        cwd=WORKER_CWD,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    try:
        # Kill once the child has relayed a good number of events and is still writing.
        async with asyncio.timeout(20):
            while True:
                line = await child.stdout.readline()
                if not line:
                    pytest.fail("the relay worker exited on its own (see its stderr)")
                if int(line) >= 30:
                    break
        # The child reports right after storing a position; a random delay lets the kill land
        # anywhere in the cycle, including between publishing and storing the position.
        await asyncio.sleep(random.uniform(0, 0.02))
    finally:
        child.kill()  # SIGKILL: no cleanup, no final position write
        await child.wait()

    store = open_things(store_settings, app_cls)
    positions = open_view_store(store_settings, app_name)
    try:
        relay = OutboxRelay(store, js, positions)
        await relay.start()
        await publish_all(relay)
        ids = await stream_ids(js, app_name)
        assert len(ids) == len(set(ids)), "an event was published twice"
        assert ids == recorded_ids(store)
        assert len(ids) >= 30
    finally:
        positions.close()
        store.close()


class _CountingReads(OutboxRelay):
    """The relay, counting how often it reads the log (the store and stream are real)."""

    log_reads = 0

    async def _read_log(self) -> list[Any]:
        self.log_reads += 1
        return await super()._read_log()


async def test_offered_commits_are_published_without_reading_the_log_back(
    js: JetStreamContext, store: ThingStore, positions: ViewStore
) -> None:
    # A long poll: every log read below is one the relay chose, not the periodic one.
    relay = _CountingReads(store, js, positions, poll_seconds=30.0)
    await relay.start()
    running = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.1)  # the first pass reads the (empty) log once
        reads_at_start = relay.log_reads
        for _ in range(40):
            # What a command does: commit, offer its recordings, wait until published.
            recordings = store.save(Thing("offered"))
            relay.offer(recordings)
            assert await relay.wait_published(recordings[-1].notification.id, timeout=5.0)
        assert await stream_ids(js, store.name) == recorded_ids(store)
        # Before, each waiter and each batch made the relay read the log in vain (~80 reads).
        assert relay.log_reads - reads_at_start <= 2
        # Another writer's events (not offered) are still found when a waiter asks for them.
        add_things(store, 3)
        assert await relay.wait_published(last_position(store), timeout=3.0)
        assert await stream_ids(js, store.name) == recorded_ids(store)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_a_publish_failing_mid_batch_leaves_nothing_waiting_and_is_retried(
    js: JetStreamContext, store: ThingStore, positions: ViewStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_things(store, 3)
    relay = OutboxRelay(store, js, positions)
    await relay.start()
    publish = relay._nc.publish
    sent = 0

    async def fails_second(*args: Any, **kwargs: Any) -> None:
        nonlocal sent
        sent += 1
        if sent == 2:
            raise ConnectionError("the connection went away")
        await publish(*args, **kwargs)

    monkeypatch.setattr(relay._nc, "publish", fails_second)
    with pytest.raises(ConnectionError):
        await relay.publish_pending()
    assert not relay._acks._pending  # the batch's reply subjects are dropped
    assert relay.position == 0

    monkeypatch.setattr(relay._nc, "publish", publish)
    assert await publish_all(relay) == 3
    assert await stream_ids(js, store.name) == recorded_ids(store)
