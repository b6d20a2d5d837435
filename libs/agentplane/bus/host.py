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
from faststream.nats.annotations import NatsMessage

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
        self.handle(subjects.ping(service), self._pong)

    async def _pong(self, _raw: bytes) -> bytes:
        return Pong(service=self.service, instance=self.instance).model_dump_json().encode()

    def handle(
        self, subject: str, handler: Handler, *, queue: str | None = None, concurrency: int = 64
    ) -> None:
        """Answer requests on `subject` in the service's queue group, many at a time.

        Concurrency lets slow commands overlap (their relay waits and store writes batch up)
        instead of queueing behind each other.
        """

        async def on_message(msg: NatsMessage) -> bytes:
            return await handler(msg.body)

        on_message.__name__ = handler.__name__
        self.broker.subscriber(subject, queue=queue or self.service, max_workers=concurrency)(
            on_message
        )

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
        await self.broker.start()
        self._tasks = [asyncio.create_task(factory()) for factory in self._loops]
        await wait_until_answering(self.broker.connection, subjects.ping(self.service))
        log.info("%s ready (%s)", self.service, self.instance)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
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
