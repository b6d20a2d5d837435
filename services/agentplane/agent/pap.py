"""PAP mode (seed 004): the reference agent as a managed agent that the local provisioner starts.

Beats carry only `mode` and `uptime_seconds`, at the mode's interval (EMERGENCY 5 s, IDLE 30 s,
SLEEP 15 min), the first one at once; metrics (`cpu_percent`, `memory_mb`,
`requests_handled`) go on their own channel every 60 s. SIGTERM is the drain: the loop stops
after what it is doing and the process exits 0. The workspace key comes from the environment
(`AGENTPLANE_PAP_API_KEY`), never from the command line, where `ps` would show it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time

import psutil

from agentplane.contracts.pap import PAP_AGENT_READY
from agentplane.sdk import AgentplaneError, AsyncClient
from agentplane.sdk.errors import ApiError

log = logging.getLogger("agentplane.agent")

API_KEY_ENV = "AGENTPLANE_PAP_API_KEY"
METRICS_SECONDS = 60.0
# Seed 004 "Heartbeat Intervals": how often an agent in each mode beats, in seconds (the hub
# decides on its side how long it waits: heartbeat/domain/deadlines.py).
BEAT_EVERY = {"EMERGENCY": 5.0, "IDLE": 30.0, "SLEEP": 900.0}
_MB = 1024 * 1024


async def run_pap(server: str, agent_id: str, api_key: str, mode: str = "IDLE") -> int:
    """Beat and report until SIGTERM (exit 0) or the hub says the agent is terminated (1)."""
    interval = BEAT_EVERY[mode]
    started = time.monotonic()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("%s: %s, mode %s", PAP_AGENT_READY, agent_id, mode)
    process = psutil.Process(os.getpid())
    process.cpu_percent(None)
    next_metrics = time.monotonic() + METRICS_SECONDS
    async with AsyncClient(server, api_key=api_key) as client:
        while not stop.is_set():
            try:
                await client.pap.heartbeat(agent_id, mode, round(time.monotonic() - started, 1))
                if time.monotonic() >= next_metrics:
                    next_metrics += METRICS_SECONDS
                    await client.pap.metrics(
                        agent_id,
                        cpu_percent=min(100.0, process.cpu_percent(None)),
                        memory_mb=round(process.memory_info().rss / _MB, 1),
                        requests_handled=0,
                    )
            except AgentplaneError as exc:
                if isinstance(exc, ApiError) and exc.status == 409:  # terminated: stop
                    log.info("the hub says this agent is terminated; stopping")
                    return 1
                log.warning("PAP heartbeat failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    log.info("drained; exiting")
    return 0
