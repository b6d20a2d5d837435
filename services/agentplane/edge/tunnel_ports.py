"""A TCP listener on every route's tunnel port: each visitor connection becomes one stream
through the route's agent (one data connection per visitor connection)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from agentplane.contracts.tunnels import TunnelRoute
from agentplane.edge.opener import OpenFailed, StreamOpener
from agentplane.edge.routes import RouteTable
from agentplane.edge.streams import ActiveStreams
from agentplane.relay.ends import PlainEnd, tune_socket
from agentplane.relay.stream import Stream

log = logging.getLogger("agentplane.edge.tunnels")


class Listener:
    def __init__(self, route: TunnelRoute, sock: socket.socket, task: asyncio.Task[None]) -> None:
        self.route = route
        self.sock = sock
        self.task = task


class TunnelPorts:
    def __init__(self, host: str, opener: StreamOpener, streams: ActiveStreams) -> None:
        self.host = host
        self.opener = opener
        self.streams = streams
        self.listeners: dict[int, Listener] = {}
        self._visits: set[asyncio.Task[None]] = set()
        self._unbindable: set[int] = set()

    def apply(self, table: RouteTable) -> None:
        """Listen on exactly the table's ports; a removed or re-pointed route ends its streams."""
        for port in list(self.listeners):
            route = table.by_port.get(port)
            current = self.listeners[port].route
            if route is None:
                self._close(port)
                ended = self.streams.abort_port(port)
                log.info("tunnel port %d closed (service %s gone, %d streams ended)",
                         port, current.service_id, ended)  # fmt: skip
            elif (route.agent_id, route.target_host, route.target_port) != (
                current.agent_id, current.target_host, current.target_port,
            ):  # fmt: skip
                self.listeners[port].route = route
                self.streams.abort_port(port)
            else:
                self.listeners[port].route = route
        for port, route in table.by_port.items():
            if port not in self.listeners:
                self._open(route)

    def _open(self, route: TunnelRoute) -> None:
        port = route.tunnel_port
        try:
            sock = socket.create_server((self.host, port), backlog=1024)
        except OSError as exc:
            if port not in self._unbindable:  # said once; retried on every refresh
                log.error("cannot listen on tunnel port %d for service %s: %s",
                          port, route.service_id, exc)  # fmt: skip
            self._unbindable.add(port)
            return
        self._unbindable.discard(port)
        sock.setblocking(False)
        task = asyncio.create_task(self._accept(port, sock), name=f"tunnel-{port}")
        self.listeners[port] = Listener(route, sock, task)
        log.info("tunnel port %d → agent %s → %s:%d (service %s)", port, route.agent_id,
                 route.target_host, route.target_port, route.service_id)  # fmt: skip

    def _close(self, port: int) -> None:
        listener = self.listeners.pop(port)
        listener.task.cancel()
        listener.sock.close()

    async def _accept(self, port: int, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(sock)
            except OSError as exc:
                log.warning("accept on tunnel port %d failed: %s", port, exc)
                await asyncio.sleep(0.1)
                continue
            task = asyncio.create_task(self._visit(port, conn))
            self._visits.add(task)
            task.add_done_callback(self._visits.discard)

    async def _visit(self, port: int, conn: socket.socket) -> None:
        listener = self.listeners.get(port)
        if listener is None:
            conn.close()
            return
        route = listener.route
        try:
            data = await self.opener.open(route)
        except OpenFailed as exc:
            log.info("visitor on tunnel port %d closed: %s", port, exc)
            conn.close()
            return
        except BaseException:
            conn.close()
            raise
        current = self.listeners.get(port)
        if current is None or current.route != route:
            # The route went or changed while the agent dialed back: not this stream.
            data.close()
            conn.close()
            return
        tune_socket(conn)
        stream = Stream(PlainEnd(conn), data, self.streams.closed, label=f"tunnel-{port}")
        self.streams.add(stream, route)
        stream.start()

    async def close(self) -> None:
        for port in list(self.listeners):
            self._close(port)
        for task in list(self._visits):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._visits, return_exceptions=True)
