"""How far a consumer has applied the event stream, for read-after-write waits."""

from __future__ import annotations

import asyncio


class Progress:
    """The highest stream sequence applied; callers wait (bounded) until it reaches theirs."""

    def __init__(self, applied: int = 0) -> None:
        self.applied_seq = applied
        self._advanced = asyncio.Condition()

    async def applied(self, sequence: int) -> None:
        async with self._advanced:
            self.applied_seq = max(self.applied_seq, sequence)
            self._advanced.notify_all()

    async def wait_applied(self, sequence: int, timeout: float) -> None:
        async with self._advanced:
            try:
                await asyncio.wait_for(
                    self._advanced.wait_for(lambda: self.applied_seq >= sequence), timeout
                )
            except TimeoutError:
                pass
