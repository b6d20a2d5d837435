"""Child process of the kill -9 test: records things and relays them until it is killed.

Usage: python -m <package>.relay_worker <app name> <nats url> <settings json>
Prints the relay's position after every change, so the parent knows it is mid-run.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time

import nats

from agentplane.eventstore.relay import OutboxRelay
from agentplane.eventstore.views import open_view_store
from agentplane.settings import Settings

from .things import ThingStore, add_things, open_things, thing_store_class


def write_forever(store: ThingStore) -> None:
    batch = 0
    while True:
        add_things(store, 1 + batch % 3, prefix=f"w{batch}")
        batch += 1
        time.sleep(0.002)


async def main(app_name: str, url: str, settings: Settings) -> None:
    store = open_things(settings, thing_store_class(app_name))
    views = open_view_store(settings, app_name)
    nc = await nats.connect(url)
    # Small batches: many publish-then-store-position steps for the kill to land between.
    relay = OutboxRelay(store, nc.jetstream(), views, batch_size=3, poll_seconds=0.005)
    await relay.start()
    threading.Thread(target=write_forever, args=(store,), daemon=True).start()
    relaying = asyncio.create_task(relay.run())
    reported = -1
    while not relaying.done():
        if relay.position != reported:
            reported = relay.position
            print(reported, flush=True)
        await asyncio.sleep(0.005)
    relaying.result()  # a relay that stopped by itself is a failure the parent should see


if __name__ == "__main__":
    name, nats_url, settings_json = sys.argv[1:4]
    asyncio.run(main(name, nats_url, Settings(**json.loads(settings_json))))
