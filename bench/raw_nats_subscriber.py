"""The raw baseline: a bare nats-py subscriber doing a JSON parse and a dict update per beat.

Runs as its own process (like the heartbeat service) until SIGTERM:
`python -m bench.raw_nats_subscriber <nats_url>` (credential from `AGENTPLANE_NATS_USER` and
`AGENTPLANE_NATS_PASSWORD`). It answers `bench.raw.stats` with how many
beats it processed. These subjects belong to the benchmark only, not to agentplane.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

import nats
from nats.aio.msg import Msg

BASELINE_PREFIX = "bench.hb"
BASELINE_STATS = "bench.raw.stats"


async def serve(url: str) -> None:
    nc = await nats.connect(
        url,
        name="bench-raw-subscriber",
        user=os.environ.get("AGENTPLANE_NATS_USER"),
        password=os.environ.get("AGENTPLANE_NATS_PASSWORD"),
    )
    last_seen: dict[str, float] = {}
    processed = 0
    skip = len(BASELINE_PREFIX) + 1

    async def on_beat(msg: Msg) -> None:
        nonlocal processed
        body = json.loads(msg.data)
        if type(body) is dict and type(body.get("token")) is str:
            last_seen[msg.subject[skip:]] = time.time()
        processed += 1

    async def on_stats(msg: Msg) -> None:
        await nc.publish(msg.reply, json.dumps({"processed": processed}).encode())

    await nc.subscribe(f"{BASELINE_PREFIX}.*", cb=on_beat)
    await nc.subscribe(BASELINE_STATS, cb=on_stats)
    await nc.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await nc.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
