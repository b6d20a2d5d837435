"""How registry handlers run use cases: commands in a thread pool that feeds the group
commit, then a wait until their events are public; queries in a thread."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic import BaseModel

from agentplane.eventstore.relay import OutboxRelay

Command = Callable[[Callable[[Any], tuple[BaseModel, int]], Any], Any]
Query = Callable[[Callable[[Any], Any], Any], Any]

Result = TypeVar("Result")

log = logging.getLogger("agentplane.registry.dispatch")

# Well inside the gateway's request timeout (5 s by default): the answer must arrive.
PUBLISH_WAIT_SECONDS = 2.0

# Commands block on the group commit in these threads: enough of them to form big groups.
COMMAND_THREADS = 64


class Dispatch:
    """`command` and `query` for every registry handler module."""

    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay
        # Built here, not at import: importing the registry starts no threads.
        self.threads = ThreadPoolExecutor(
            max_workers=COMMAND_THREADS, thread_name_prefix="registry-command"
        )

    async def command(
        self, use_case: Callable[[Any], tuple[BaseModel, int]], cmd: Any
    ) -> BaseModel:
        result, position = await asyncio.get_running_loop().run_in_executor(
            self.threads, use_case, cmd
        )
        # Reply once the events are public, so audit and subscribers see them next. A slow
        # stream delays that, but the change is committed and will be published: a saved
        # change is never reported as failed (a retry would meet 409 and lose a one-time
        # secret). Position 0: the command recorded nothing, there is nothing to wait for.
        if position and not await self.relay.wait_published(position, PUBLISH_WAIT_SECONDS):
            log.warning("events up to %d are saved but not yet published", position)
        return result

    async def query(self, use_case: Callable[[Any], Result], q: Any) -> Result:
        return await asyncio.to_thread(use_case, q)
