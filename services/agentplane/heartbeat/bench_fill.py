"""Benchmark support: grow the live table with synthetic agents to measure its memory.

Only answered when AGENTPLANE_HEARTBEAT_BENCH is set. The agents are tracked exactly like
restored ones (table slot, clock, cached-token columns), online with a long deadline so no
sweep fires during the measurement; nothing is recorded, so a restart forgets them.
"""

from __future__ import annotations

import asyncio
import os
from uuid import uuid4

from agentplane.contracts.liveness import BenchFill, BenchFilled
from agentplane.heartbeat.intake import BeatIntake

_CHUNK = 20_000


async def fill(intake: BeatIntake, cmd: BenchFill) -> BenchFilled:
    table = intake.table
    tokens = intake.tokens
    remaining = cmd.count
    while remaining > 0:
        now = intake.clock()
        for _ in range(min(_CHUNK, remaining)):
            agent_id = str(uuid4())
            table.restore(agent_id, now, True, now, cmd.offline_after_seconds)
            slot = table.index[agent_id]
            tokens.remember(slot, tokens.tag(os.urandom(8).hex()), now)
        remaining -= _CHUNK
        # Let beats and requests through between chunks.
        await asyncio.sleep(0)
    return BenchFilled(tracked=len(table))
