"""How registry handlers run use cases: commands in threads that feed the group commit, then
a wait until their events are public; queries in a thread.

Batched commands (`batched(use_case)` in the handler table) are collected in the event loop
and handed over as one batch to one thread: one executor hop and one group-commit wait per
batch, not per command. The thread runs each command with its saves deferred
(`Registry.deferring`), then commits every command's events together (`save_each`: each
command all or nothing). A command refused at commit (a conflict with another of the batch,
or with the store) runs again on its own, where its usual conflict handling answers.

A batch leaves at once unless the registry is busy with others (at least `LINGER_SIBLINGS`
batched commands received and not yet answered): then it waits up to `LINGER_SECONDS` for
more, or until it holds `LINGER_UNTIL` commands (PostgreSQL's `commit_delay` and
`commit_siblings`). Each batch pays a thread hop, a commit, the relay's publish-and-ack round
trip and the flush of its answers. In a storm of 5,000 registrations, which the rest of the
system feeds to the registry at ~1,000/s, batches held 3.5 commands without the wait and 11
with it, and the registry's CPU per registration fell by a third (nats-server's by a fifth: a
JetStream publish costs it more alone than in a batch). A lone command, or one client's
commands one after the other, never wait.

Every command carries its caller's deadline (`bus.deadlines`): one still queued when the
deadline passes is not run; one that started is committed and answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eventsourcing.persistence import IntegrityError
from pydantic import BaseModel

from agentplane.bus import deadlines
from agentplane.eventstore.relay import OutboxRelay
from agentplane.registry.application import Registry

Command = Callable[[Callable[[Any], tuple[BaseModel, int]], Any], Any]
Query = Callable[[Callable[[Any], Any], Any], Any]

Result = TypeVar("Result")

log = logging.getLogger("agentplane.registry.dispatch")

# Well inside the gateway's request timeout (5 s by default): the answer must arrive.
PUBLISH_WAIT_SECONDS = 2.0

# Unbatched commands block on the group commit in these threads: enough to form big groups.
COMMAND_THREADS = 64

# Batches in flight at once: one runs its use cases while the other's commit syncs.
BATCH_THREADS = 2
# Commands in one batch (the group commit's own bound).
MAX_BATCH = 500
# The longest a batch waits for more commands, when the registry is busy (see above) ...
LINGER_SECONDS = 0.005
# ... that is, when this many other batched commands are received and not yet answered ...
LINGER_SIBLINGS = 2
# ... and it leaves as soon as it holds this many.
LINGER_UNTIL = 32


class batched:  # lower case: used like a decorator in the handler table
    """Marks a use case safe to run with deferred saves (see `Registry.deferring`)."""

    def __init__(self, use_case: Callable[[Any], tuple[BaseModel, int]]) -> None:
        self.use_case = use_case
        self.__name__ = getattr(use_case, "__name__", "batched")

    def __call__(self, cmd: Any) -> tuple[BaseModel, int]:
        return self.use_case(cmd)


@dataclass
class _Queued:
    use_case: Callable[[Any], tuple[BaseModel, int]]
    cmd: Any
    deadline: float | None
    future: asyncio.Future[BaseModel]
    result: tuple[BaseModel, int] | None = None
    error: BaseException | None = None
    events: list[Any] = field(default_factory=list)


class Dispatch:
    """`command` and `query` for every registry handler."""

    def __init__(self, relay: OutboxRelay, registry: Registry) -> None:
        self.relay = relay
        self.registry = registry
        # Built here, not at import: importing the registry starts no threads.
        self.threads = ThreadPoolExecutor(
            max_workers=COMMAND_THREADS, thread_name_prefix="registry-command"
        )
        self.batch_threads = ThreadPoolExecutor(
            max_workers=BATCH_THREADS, thread_name_prefix="registry-batch"
        )
        self._queue: list[_Queued] = []
        self._in_flight = 0
        self._handing_over = False
        self._lingering: asyncio.TimerHandle | None = None
        self._outstanding = 0  # batched commands received and not yet answered
        self._answering: set[asyncio.Task[None]] = set()
        self.batches = 0  # batches run, for tests and profiles

    async def command(
        self, use_case: Callable[[Any], tuple[BaseModel, int]], cmd: Any
    ) -> BaseModel:
        deadline = deadlines.current.get()
        if isinstance(use_case, batched):
            loop = asyncio.get_running_loop()
            queued = _Queued(use_case.use_case, cmd, deadline, loop.create_future())
            self._queue.append(queued)
            busy = self._outstanding >= LINGER_SIBLINGS
            self._outstanding += 1
            if self._lingering is not None and len(self._queue) >= LINGER_UNTIL:
                self._lingering.cancel()
                self._lingering = None
                self._handing_over = False
            if not self._handing_over:
                self._handing_over = True
                if busy and len(self._queue) < LINGER_UNTIL:
                    self._lingering = loop.call_later(LINGER_SECONDS, self._hand_over, loop)
                else:
                    # Next turn of the loop: the commands that arrive meanwhile join the batch.
                    loop.call_soon(self._hand_over, loop)
            try:
                answer: BaseModel = await queued.future  # its events are public (or waited for)
            finally:
                self._outstanding -= 1
            return answer
        result, position = await asyncio.get_running_loop().run_in_executor(
            self.threads, _started_before, deadline, use_case, cmd
        )
        await self._published(position, [deadline])
        return result

    async def _published(self, position: int, deadlines_: list[float | None]) -> None:
        """Reply once the events are public, so audit and subscribers see them next.

        A slow stream delays that, but the change is committed and will be published: a
        saved change is never reported as failed (a retry would meet 409 and lose a one-time
        secret), so the wait ends in time for the callers. Position 0: nothing recorded."""
        if not position:
            return
        wait = PUBLISH_WAIT_SECONDS
        for left in (deadlines.remaining(d) for d in deadlines_):
            if left is not None:
                # The start deadline leaves each caller a grace for the reply: use half.
                wait = max(0.0, min(wait, left + deadlines.REPLY_GRACE_SECONDS / 2))
        if not await self.relay.wait_published(position, wait):
            log.warning("events up to %d are saved but not yet published", position)

    async def query(self, use_case: Callable[[Any], Result], q: Any) -> Result:
        return await asyncio.to_thread(_started_before, deadlines.current.get(), use_case, q)

    # -- batches ------------------------------------------------------------------------------

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        # Commands arriving while both batch threads are busy wait for the next batch: the
        # busier the registry, the bigger its batches.
        self._handing_over = False
        if self._lingering is not None:  # handed over before its time (the batch is full)
            self._lingering.cancel()
            self._lingering = None
        while self._queue and self._in_flight < BATCH_THREADS:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            self._in_flight += 1
            running = loop.run_in_executor(self.batch_threads, self._run, batch)
            running.add_done_callback(lambda done, b=batch: self._ran(loop, b, done))

    def _ran(
        self, loop: asyncio.AbstractEventLoop, batch: list[_Queued], done: asyncio.Future[None]
    ) -> None:
        self._in_flight -= 1
        self.batches += 1
        if self._lingering is None:  # else the lingering batch leaves when its time is up
            self._hand_over(loop)
        task = loop.create_task(self._answer(batch, done.exception()))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _answer(self, batch: list[_Queued], failure: BaseException | None) -> None:
        # One wait for the whole batch's events to be public, then every answer.
        committed = [q for q in batch if failure is None and q.error is None and q.result]
        last = max((q.result[1] for q in committed if q.result), default=0)
        try:
            await self._published(last, [q.deadline for q in committed])
        finally:
            for queued in batch:
                if queued.future.done():  # its caller is gone (cancelled)
                    continue
                if failure is not None or queued.error is not None:
                    queued.future.set_exception(failure or queued.error)  # type: ignore[arg-type]
                else:
                    assert queued.result is not None
                    queued.future.set_result(queued.result[0])

    def _run(self, batch: list[_Queued]) -> None:
        """In a batch thread: run each command with deferred saves, commit them together,
        run again on its own any command the commit refused."""
        for queued in batch:
            if deadlines.passed(queued.deadline):
                queued.error = deadlines.not_run()
                continue
            with self.registry.deferring() as events:
                try:
                    queued.result = queued.use_case(queued.cmd)
                except Exception as exc:
                    queued.error = exc
                    continue
            queued.events = events
        saving = [q for q in batch if q.error is None and q.events]
        outcomes = self.registry.committer.save_each([tuple(q.events) for q in saving])
        for queued, outcome in zip(saving, outcomes, strict=True):
            if isinstance(outcome, IntegrityError):
                # Its own run decides: 409, a retry on fresh state, the first answer, ….
                try:
                    queued.result = queued.use_case(queued.cmd)
                except Exception as exc:
                    queued.error = exc
            elif isinstance(outcome, BaseException):
                queued.error = outcome
            else:
                assert queued.result is not None
                queued.result = (queued.result[0], outcome)


def _started_before(deadline: float | None, use_case: Callable[[Any], Any], cmd: Any) -> Any:
    # Checked where the work starts, after any wait in the thread pool's queue.
    deadlines.check(deadline)
    return use_case(cmd)
