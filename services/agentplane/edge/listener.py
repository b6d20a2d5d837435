"""The edge's TCP listeners: bound without blocking, each connection accepted into a task."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from typing import Any


def listen(host: str, port: int) -> tuple[socket.socket, int]:
    """A non-blocking listening socket and the port it got (port 0: the kernel picks)."""
    listener = socket.create_server((host, port), backlog=1024)
    listener.setblocking(False)
    return listener, int(listener.getsockname()[1])


async def accept_each(
    listener: socket.socket,
    handle: Callable[[socket.socket, str], Coroutine[Any, Any, None]],
    tasks: set[asyncio.Task[None]],
) -> None:
    """Hand every connection (with its peer's address) to `handle` in a task of its own, kept
    in `tasks` while it runs."""
    loop = asyncio.get_running_loop()
    while True:
        sock, address = await loop.sock_accept(listener)
        task = asyncio.create_task(handle(sock, address[0]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
