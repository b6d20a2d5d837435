"""A running projection picks up events another writer (replica) recorded, within a few polls."""

from __future__ import annotations

import asyncio
import time

from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.views import open_view_store
from agentplane.settings import Settings

from .things import Thing, ThingProjection, open_things


async def test_running_projection_applies_new_events_promptly(
    store_settings: Settings,
) -> None:
    reader_store = open_things(store_settings)
    view = open_view_store(store_settings, "things_follow")
    runner = ProjectionRunner(reader_store, view, ThingProjection())
    task = asyncio.create_task(runner.run())
    try:
        writer = open_things(store_settings)  # another application instance on the same store
        thing = Thing(name="from-elsewhere")
        writer.save(thing)
        saved_at = time.monotonic()
        while True:
            with view.read() as tx:
                if tx.get("thing", str(thing.id)) is not None:
                    break
            # It polls every poll_seconds; a busy 2-core machine may delay a few polls.
            assert time.monotonic() - saved_at < 5.0, "not applied within 5 s"
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        view.close()
