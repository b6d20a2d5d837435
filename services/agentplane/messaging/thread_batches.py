"""Group commit seen from the event loop: requests that arrive while a batch is being recorded
form the next batch.

`GroupCommitter` batches threads, but a request handler reaches it through `to_thread`, and
the default executor has a handful of threads: each request paid a thread hop, and a group
held at most as many requests as there were threads. Here the loop collects the requests and
hands a whole batch to one thread (or runs it on the loop: `on_loop`): one hop and one
transaction for all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class ThreadBatches(Generic[T, R]):
    """`await submit(item)` → the result `run` gave that item (or the exception it gave it).

    `run(items)` runs in a thread, one batch at a time, and returns one result or exception
    per item, in order; an exception it raises is every item's.

    `on_loop`: `run` is called on the event loop itself instead of in a thread. For a batch
    whose work is Python holding the GIL and whose only wait is a local disk's (SQLite): a
    thread would not run it alongside the loop, only pass the GIL back and forth with it.
    What arrives while the batch runs waits in the socket and forms the next batch. A store
    behind a network round trip (PostgreSQL) keeps its thread.
    """

    def __init__(
        self,
        run: Callable[[list[T]], list[R | BaseException]],
        max_batch: int = 500,
        on_loop: bool = False,
    ) -> None:
        self.run = run
        self.max_batch = max_batch
        self.on_loop = on_loop
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self.batches = 0

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self.max_batch]
                self._pending = self._pending[self.max_batch :]
                items = [item for item, _ in batch]
                try:
                    if self.on_loop:
                        results = self.run(items)
                    else:
                        results = await asyncio.to_thread(self.run, items)
                except asyncio.CancelledError:  # the service stops: nobody gets an answer
                    for _, future in batch + self._pending:
                        future.cancel()
                    self._pending = []
                    raise
                except Exception as exc:
                    results = [exc] * len(batch)
                self.batches += 1
                _resolve(batch, results)
        finally:
            self._drainer = None


def _resolve(batch: list[tuple[T, asyncio.Future[R]]], results: list[R | BaseException]) -> None:
    for (_, future), result in zip(batch, results, strict=True):
        if future.done():  # its caller went away
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
