"""Create agentplane's JetStream streams with R replicas, or scale existing ones up to R.

docker-compose.yml runs this once (service `nats-streams`) before any agentplane service starts.
Services create a missing stream with the contract's single replica and leave an existing one as
it is, so streams made here stay replicated on every node of the cluster. Stream names, subjects
and limits come from `agentplane.contracts.streams`; only the replica count is set here.

    NATS_URL=nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222 \
        python replicate_streams.py --replicas 3
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import time

import nats
from nats.js.api import StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from agentplane.contracts.streams import dead_letter_stream_config, events_stream_config


async def replicate(js: JetStreamContext, config: StreamConfig, replicas: int) -> str:
    """Make one stream exist with at least `replicas` replicas; say what was done."""
    try:
        info = await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(dataclasses.replace(config, num_replicas=replicas))
        return f"{config.name}: created with {replicas} replicas"
    current = info.config.num_replicas or 1
    if current >= replicas:
        return f"{config.name}: already has {current} replicas"
    await js.update_stream(dataclasses.replace(info.config, num_replicas=replicas))
    return f"{config.name}: scaled from {current} to {replicas} replicas"


async def main(servers: list[str], replicas: int, deadline_seconds: float) -> None:
    nc = await nats.connect(
        servers=servers,
        name="replicate-streams",
        connect_timeout=5,
        # The service user (AGENTPLANE_NATS_USER / _PASSWORD): NATS admits nobody anonymous.
        user=os.environ.get("AGENTPLANE_NATS_USER"),
        password=os.environ.get("AGENTPLANE_NATS_PASSWORD"),
    )
    try:
        js = nc.jetstream(timeout=10)
        deadline = time.monotonic() + deadline_seconds
        for config in (events_stream_config(), dead_letter_stream_config()):
            while True:
                try:
                    print(await replicate(js, config, replicas), flush=True)
                    break
                # Right after the cluster forms, JetStream may not have a meta leader yet.
                except (nats.errors.Error, TimeoutError) as exc:
                    if time.monotonic() > deadline:
                        raise
                    print(f"{config.name}: {exc!r}; retrying", flush=True)
                    await asyncio.sleep(1)
    finally:
        await nc.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--deadline-seconds", type=float, default=60.0)
    args = parser.parse_args()
    asyncio.run(main(os.environ["NATS_URL"].split(","), args.replicas, args.deadline_seconds))
