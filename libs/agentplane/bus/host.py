"""Runs one service process: broker, request handlers, background loops, clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from agentplane.bus import deadlines
from agentplane.bus.connection import make_broker
from agentplane.bus.readiness import wait_until_answering
from agentplane.contracts import subjects
from agentplane.contracts.health import Pong
from agentplane.security.nats_credentials import ClientCredential

log = logging.getLogger("agentplane.host")

Handler = Callable[[bytes], Awaitable[bytes]]
Loop = Callable[[], Coroutine[Any, Any, None]]


class ServiceHost:
    """The runtime every service main uses; handlers join the queue group named after it."""

    def __init__(
        self, service: str, nats_url: str, credential: ClientCredential | None = None
    ) -> None:
        self.service = service
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        credential = credential or ClientCredential()
        self.broker: NatsBroker = make_broker(
            nats_url,
            name=f"agentplane-{service}",
            user=credential.user,
            password=credential.password,
            log_level=logging.DEBUG,
        )
        self._loops: list[Loop] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._on_start: list[Callable[[], Awaitable[None]]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self._handlers: list[tuple[str, Handler, str, int]] = []
        self._subscriptions: list[Subscription] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._started = False
        self._subscribers: list[Callable[[], Awaitable[None]]] = []
        self.handle(subjects.ping(service), self._pong)

    async def _pong(self, _raw: bytes) -> bytes:
        return Pong(service=self.service, instance=self.instance).model_dump_json().encode()

    def handle(
        self, subject: str, handler: Handler, *, queue: str | None = None, concurrency: int = 256
    ) -> None:
        """Answer requests on `subject` in the service's queue group, many at a time.

        A plain nats-py subscription, not a FastStream subscriber: request/reply handlers
        decode and reply themselves (`bus.handlers.replying`), so a framework's per-message
        layer (dependency injection, middlewares, task groups) would only add cost — it was
        about half of the registry's CPU in a registration storm. Concurrency lets slow
        commands overlap (their relay waits and store writes batch up) instead of queueing
        behind each other; beyond it, messages wait in the subscription's pending queue.
        """
        # queue "": no queue group, every replica answers (the requester takes the first).
        entry = (subject, handler, self.service if queue is None else queue, concurrency)
        self._handlers.append(entry)
        if self._started:
            self._tasks.append(asyncio.create_task(self._subscribe(*entry)))

    async def _subscribe(self, subject: str, handler: Handler, queue: str, limit: int) -> None:
        nc = self.broker.connection
        slots = asyncio.Semaphore(limit)
        name = getattr(handler, "__name__", subject)

        async def answer(msg: Msg) -> None:
            # This task's own context: handlers and dispatches read the caller's deadline.
            deadlines.current.set(deadlines.from_headers(msg.headers))
            try:
                reply = await handler(msg.data)
                if msg.reply:
                    await nc.publish(msg.reply, reply)
            except Exception:
                # `replying` handlers turn errors into replies; this is a bug or a lost link.
                log.exception("handler %s failed on %s", name, subject)
            finally:
                slots.release()

        async def on_message(msg: Msg) -> None:
            # Waiting here holds the subscription's delivery: back-pressure at `limit`.
            await slots.acquire()
            task = asyncio.create_task(answer(msg))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

        self._subscriptions.append(await nc.subscribe(subject, queue=queue, cb=on_message))

    def after_connect(self, subscribe: Callable[[], Awaitable[None]]) -> None:
        """Run `subscribe` once connected, after the start hooks and request handlers (or at
        once when the host already started): how stream consumers join."""
        self._subscribers.append(subscribe)
        if self._started:
            self._tasks.append(asyncio.create_task(subscribe()))  # type: ignore[arg-type]

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` from now on until the host stops (call while it runs or starts)."""
        self._tasks.append(asyncio.create_task(work))

    def loop(self, factory: Loop) -> None:
        """Run a background coroutine for the life of the process."""
        self._loops.append(factory)

    def on_start(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run after the broker connected, before handlers are announced ready."""
        self._on_start.append(hook)

    def on_stop(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._on_stop.append(hook)

    async def start(self) -> None:
        await self.broker.connect()
        for hook in self._on_start:
            await hook()
        for subject, handler, queue, limit in self._handlers:
            await self._subscribe(subject, handler, queue, limit)
        for subscribe in self._subscribers:
            await subscribe()
        self._started = True
        await self.broker.start()
        self._tasks += [asyncio.create_task(factory()) for factory in self._loops]
        await wait_until_answering(self.broker.connection, subjects.ping(self.service))
        log.info("%s ready (%s)", self.service, self.instance)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for subscription in self._subscriptions:
            try:
                await subscription.unsubscribe()
            except Exception:  # the connection may already be gone
                pass
        if self._in_flight:
            # Requests already taken get their answers before the connection closes.
            await asyncio.wait(list(self._in_flight), timeout=5.0)
        await self.broker.stop()
        for hook in self._on_stop:
            await hook()

    async def serve(self) -> None:
        """Start, then run until SIGINT or SIGTERM."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
