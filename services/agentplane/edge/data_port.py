"""The port agents dial back to, one connection per visitor connection: TLS (internal CA) or,
on loopback when allowed, plain TCP; then the stream's hello frame with its one-time token."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from agentplane.contracts.tunnels import TunnelStreamHello
from agentplane.edge.certificates import DataPortTls
from agentplane.edge.listener import accept_each, listen
from agentplane.relay.ends import PlainEnd, TlsEnd, tune_socket
from agentplane.relay.hello import HEAD_SIZE, body_length, parse_body, read_hello
from agentplane.relay.loopback import is_loopback

log = logging.getLogger("agentplane.edge.data")

HANDSHAKE_TIMEOUT = 10.0
TLS_RECORD_HANDSHAKE = b"\x16"
Admitted = tuple[PlainEnd, TunnelStreamHello]


@dataclass
class Pending:
    stream_id: str
    token: str
    expires_at: float
    future: asyncio.Future[Admitted] = field(repr=False)


class StreamTokens:
    """One-time tokens of the streams that wait for their data connection (loop thread only)."""

    def __init__(self) -> None:
        self._pending: dict[str, Pending] = {}

    def expect(self, stream_id: str, ttl: float) -> Pending:
        loop = asyncio.get_running_loop()
        pending = Pending(
            stream_id, secrets.token_urlsafe(32), time.monotonic() + ttl, loop.create_future()
        )
        self._pending[stream_id] = pending
        return pending

    def claim(self, hello: TunnelStreamHello) -> Pending | None:
        """The stream the hello names, once: a used, unknown or expired token gets nothing."""
        pending = self._pending.pop(hello.stream_id, None)
        if pending is None or pending.future.done():
            return None
        if not hmac.compare_digest(pending.token, hello.stream_token):
            # A wrong token burns the stream: nobody gets to guess twice.
            pending.future.cancel()
            return None
        if time.monotonic() > pending.expires_at:
            return None
        return pending

    def forget(self, stream_id: str) -> None:
        self._pending.pop(stream_id, None)


class DataPort:
    def __init__(
        self, host: str, port: int, tls: DataPortTls, plain_on_loopback: bool, tokens: StreamTokens
    ) -> None:
        self.host = host
        self.requested_port = port
        self.tls = tls
        self.plain_on_loopback = plain_on_loopback
        self.tokens = tokens
        self.port = 0
        self._listener: socket.socket | None = None
        # Handshakes block (TLS, the hello frame): a bounded pool keeps them off the loop.
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="edge-data")
        self.rejected = 0

    def bind(self) -> int:
        self._listener, self.port = listen(self.host, self.requested_port)
        return self.port

    async def serve(self) -> None:
        assert self._listener is not None, "bind() first"
        await accept_each(self._listener, self._admit, set())

    async def _admit(self, sock: socket.socket, peer: str) -> None:
        try:
            end, hello = await asyncio.wait_for(self._handshake(sock, peer), HANDSHAKE_TIMEOUT)
        except Exception as exc:
            self.rejected += 1
            log.info("data connection from %s refused: %s", peer, str(exc)[:200] or type(exc))
            # shutdown first: it wakes a handshake thread still blocked on the socket.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            return
        pending = self.tokens.claim(hello)
        if pending is None:
            self.rejected += 1
            log.warning("data connection from %s with an unknown, used or expired stream token "
                        "(stream %s)", peer, hello.stream_id[:100])  # fmt: skip
            end.close()
            return
        pending.future.set_result((end, hello))

    async def _handshake(self, sock: socket.socket, peer: str) -> Admitted:
        """TLS in a pool thread (OpenSSL blocks); plain TCP on the loop, without a handoff:
        the one thread switch fewer shows in the new-connection latency."""
        loop = asyncio.get_running_loop()
        tune_socket(sock)
        if await _first_byte(sock) == TLS_RECORD_HANDSHAKE:
            return await loop.run_in_executor(self._pool, self._tls_handshake, sock)
        if not (self.plain_on_loopback and is_loopback(peer)):
            raise PermissionError("plain TCP is accepted on loopback only; use TLS")
        head = await _recv_exactly(sock, HEAD_SIZE)
        hello = parse_body(await _recv_exactly(sock, body_length(head)))
        return PlainEnd(sock), hello

    def _tls_handshake(self, sock: socket.socket) -> Admitted:
        end = TlsEnd(sock, self.tls.context, server_side=True)
        sock.settimeout(HANDSHAKE_TIMEOUT)
        end.handshake()
        hello = read_hello(end)
        sock.settimeout(None)
        return end, hello

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        self._pool.shutdown(wait=False, cancel_futures=True)


async def _first_byte(sock: socket.socket) -> bytes:
    """The first byte the peer sent, left unread (TLS starts with a handshake record)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            return sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            readable: asyncio.Future[None] = loop.create_future()

            def wake(ready: asyncio.Future[None] = readable) -> None:
                if not ready.done():
                    ready.set_result(None)

            loop.add_reader(sock.fileno(), wake)
            try:
                await readable
            finally:
                loop.remove_reader(sock.fileno())


async def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    data = bytearray()
    while len(data) < size:
        chunk = await loop.sock_recv(sock, size - len(data))
        if not chunk:
            raise ConnectionError("closed before the hello frame ended")
        data += chunk
    return bytes(data)
