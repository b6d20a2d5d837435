"""The public HTTP(S) listener: `Host: pc-<subdomain>.<public domain>` leads to that public
service's tunnel; any other host is a 404, and a service that is not public is never served.

The edge reads only the first request's head to choose the route, then relays the connection
as it is (keep-alive requests on it go to the same service, as a browser sends only one
host's requests on a connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from agentplane.edge.listener import accept_each, listen
from agentplane.edge.opener import OpenFailed, StreamOpener
from agentplane.edge.routes import RouteTable
from agentplane.edge.streams import ActiveStreams
from agentplane.relay.ends import PlainEnd, TlsEnd, tune_socket
from agentplane.relay.stream import Stream

log = logging.getLogger("agentplane.edge.public")

MAX_HEAD = 32 * 1024
HEAD_TIMEOUT = 15.0
SUBDOMAIN_PREFIX = "pc-"


class BadRequest(Exception):
    pass


def host_of(head: bytes) -> str | None:
    """The Host header of a request head (without port, lowercase), None when absent."""
    lines = head.split(b"\r\n")
    for line in lines[1:]:
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"host":
            host = value.strip().decode("latin-1").lower()
            if host.startswith("["):
                return host  # an IPv6 literal never names a subdomain
            return host.rsplit(":", 1)[0] if ":" in host else host
    return None


def subdomain_of(host: str, domain: str) -> str | None:
    """`pc-x` of `pc-x.<domain>`; None for any other host."""
    suffix = "." + domain.lower().strip(".")
    if not host.endswith(suffix):
        return None
    label = host[: -len(suffix)]
    if "." in label or not label.startswith(SUBDOMAIN_PREFIX):
        return None
    return label


def response(status: int, reason: str, error: str) -> bytes:
    body = json.dumps({"error": error}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class PublicHttp:
    def __init__(
        self,
        host: str,
        port: int,
        domain: str,
        context: ssl.SSLContext | None,
        table: Callable[[], RouteTable],
        opener: StreamOpener,
        streams: ActiveStreams,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.domain = domain
        self.context = context
        self.table = table
        self.opener = opener
        self.streams = streams
        self.port = 0
        self._listener: socket.socket | None = None
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="edge-public")
        self._tasks: set[asyncio.Task[None]] = set()

    def bind(self) -> int:
        self._listener, self.port = listen(self.host, self.requested_port)
        return self.port

    async def serve(self) -> None:
        assert self._listener is not None, "bind() first"
        await accept_each(self._listener, lambda conn, _peer: self._visit(conn), self._tasks)

    def _read_head(self, conn: socket.socket) -> tuple[PlainEnd, bytes]:
        conn.setblocking(True)
        tune_socket(conn)
        end: PlainEnd
        if self.context is not None:
            tls_end = TlsEnd(conn, self.context, server_side=True)
            conn.settimeout(HEAD_TIMEOUT)
            tls_end.handshake()
            end = tls_end
        else:
            end = PlainEnd(conn)
            conn.settimeout(HEAD_TIMEOUT)
        head = bytearray()
        buf = bytearray(16 * 1024)
        while b"\r\n\r\n" not in head:
            if len(head) > MAX_HEAD:
                raise BadRequest("request head too large")
            n = end.read_into(buf)
            if not n:
                raise BadRequest("closed before the request head ended")
            head += buf[:n]
        conn.settimeout(None)
        return end, bytes(head)

    def _answer(self, end: PlainEnd, data: bytes) -> None:
        try:
            end.write(data)
            end.shutdown_write()
        except (OSError, ssl.SSLError):
            pass
        end.close()

    async def _visit(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            # The whole head within HEAD_TIMEOUT (a socket timeout bounds each read only): a
            # client trickling bytes cannot hold a worker of the pool for long.
            end, head = await asyncio.wait_for(
                loop.run_in_executor(self._pool, self._read_head, conn), HEAD_TIMEOUT
            )
        except (OSError, ssl.SSLError, ConnectionError, BadRequest, TimeoutError) as exc:
            log.debug("public connection dropped: %s", exc)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes the worker if it still reads
            conn.close()
            return
        host = host_of(head)
        subdomain = subdomain_of(host, self.domain) if host else None
        route = self.table().public(subdomain) if subdomain else None
        if route is None:
            answer = response(404, "Not Found", "No service at this address")
            await loop.run_in_executor(self._pool, self._answer, end, answer)
            return
        try:
            data = await self.opener.open(route)
        except OpenFailed as exc:
            log.info("public request for %s not served: %s", subdomain, exc)
            answer = response(502, "Bad Gateway", "The service is unreachable right now")
            await loop.run_in_executor(self._pool, self._answer, end, answer)
            return
        except BaseException:
            end.close()
            raise
        # The head read to choose the route is the first thing the service receives.
        end.unread(head)
        stream = Stream(end, data, self.streams.closed, label=f"public-{subdomain}")
        self.streams.add(stream, route)
        stream.start()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        for task in list(self._tasks):
            task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
