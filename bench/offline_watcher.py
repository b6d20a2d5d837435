"""A subscriber of `liveness.WentOffline` in a process of its own, for the heartbeat bench.

`python -m bench.offline_watcher <nats_url> <out_file>` (credential from
`AGENTPLANE_NATS_USER` / `AGENTPLANE_NATS_PASSWORD`) prints "ready" once subscribed, then
writes one JSON line per event to `out_file`: its arrival time and the event's agent, decision
time, last-seen time and creation time. Its own process because the bench's load generator
keeps its event loop busy: arrival times taken there would add the generator's own delays to
the product's (the figure is "seen by a subscriber", not "seen by a busy load generator").
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from datetime import datetime
from typing import TextIO

import nats
from nats.aio.msg import Msg

from agentplane.contracts.subjects import Events

WENT_OFFLINE = Events.subject("heartbeat", "liveness.WentOffline")


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


async def watch(url: str, out: TextIO) -> None:
    nc = await nats.connect(
        url,
        name="bench-offline-watcher",
        user=os.environ.get("AGENTPLANE_NATS_USER"),
        password=os.environ.get("AGENTPLANE_NATS_PASSWORD"),
    )

    async def on_offline(msg: Msg) -> None:
        arrival = time.time()
        event = json.loads(msg.data)
        data = event["data"]
        line = {
            "arrival": arrival,
            "agent_id": event["agent_id"],
            "at": _epoch(data["at"]),
            "last_seen": _epoch(data["last_seen_at"]),
            "occurred": _epoch(event["occurred_at"]),
        }
        out.write(json.dumps(line) + "\n")
        out.flush()

    await nc.subscribe(WENT_OFFLINE, cb=on_offline)
    await nc.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await nc.close()


if __name__ == "__main__":
    with open(sys.argv[2], "w") as events:
        asyncio.run(watch(sys.argv[1], events))
