"""How registry handlers run use cases: commands in a thread pool that feeds the group
commit, then a wait until their events are public; queries in a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel

from agentplane.contracts.errors import unavailable
from agentplane.eventstore.relay import OutboxRelay

Command = Callable[[Callable[[Any], tuple[BaseModel, int]], Any], Any]
Query = Callable[[Callable[[Any], BaseModel], Any], Any]

# Commands block on the group commit in these threads: enough of them to form big groups.
COMMAND_THREADS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="registry-command")


class Dispatch:
    """`command` and `query` for every registry handler module."""

    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay

    async def command(
        self, use_case: Callable[[Any], tuple[BaseModel, int]], cmd: Any
    ) -> BaseModel:
        result, position = await asyncio.get_running_loop().run_in_executor(
            COMMAND_THREADS, use_case, cmd
        )
        # Reply only once the events are public, so audit and subscribers see them next.
        # Position 0: the command recorded nothing, there is nothing to wait for.
        if position and not await self.relay.wait_published(position):
            raise unavailable(
                "event stream is unavailable; the change is saved and will be published"
            )
        return result

    async def query(self, use_case: Callable[[Any], BaseModel], q: Any) -> BaseModel:
        return await asyncio.to_thread(use_case, q)
