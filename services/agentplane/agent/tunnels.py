"""The agent's side of tunnels: for each `tunnel.open` it connects to the target its service
registration names, dials the edge's data port (TLS with the internal CA, or plain TCP when
the edge is on this host's loopback), presents the one-time stream token, and relays.

`agentplane agent run --allow HOST:PORT` (repeatable) limits what the agent exposes at all:
with an allow list, any other target is refused in the ack and never connected to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agentplane.contracts.tunnels import TunnelOpenBody, TunnelStreamHello
from agentplane.relay.ends import PlainEnd, TlsEnd, client_context, tune_socket
from agentplane.relay.hello import encode_hello
from agentplane.relay.loopback import is_loopback
from agentplane.relay.stream import Stream

log = logging.getLogger("agentplane.agent.tunnels")

CONNECT_TIMEOUT = 5.0
SEEN_STREAMS = 4096


def parse_allow(entry: str) -> tuple[str, int]:
    """`HOST:PORT` (`[v6]:PORT` for IPv6) → (lowercase host, port)."""
    host, sep, port = entry.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"--allow wants HOST:PORT, got {entry!r}")
    return host.strip("[]").lower(), int(port)


class TunnelDialer:
    def __init__(self, allow: list[str] | None = None) -> None:
        self.allow = {parse_allow(a) for a in allow} if allow else None
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.streams: set[Stream] = set()
        self.opened = 0
        # TLS handshakes block; the relays run in their own threads.
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="agent-tunnel")

    def allows(self, host: str, port: int) -> bool:
        return self.allow is None or (host.strip("[]").lower(), port) in self.allow

    def refusal(self, body: TunnelOpenBody) -> str | None:
        """Why this agent will not open the stream, or None."""
        target = (body.target_host.strip("[]").lower(), body.target_port)
        if self.allow is not None and target not in self.allow:
            return f"{body.target_host}:{body.target_port} is not in this agent's --allow list"
        if not body.tls and not is_loopback(body.edge_host):
            return "plain TCP to an edge off loopback is refused; the edge must offer TLS"
        if body.tls and not body.edge_ca_pem:
            return "no CA to verify the edge with"
        return None

    def first_time(self, stream_id: str) -> bool:
        """False for a repeated tunnel.open (its token is spent anyway)."""
        with self._lock:
            if stream_id in self._seen:
                return False
            self._seen[stream_id] = None
            while len(self._seen) > SEEN_STREAMS:
                self._seen.popitem(last=False)
            return True

    def _context(self, ca_pem: str) -> ssl.SSLContext:
        context = self._contexts.get(ca_pem)
        if context is None:
            context = self._contexts[ca_pem] = client_context(ca_pem)
        return context

    async def open(self, body: TunnelOpenBody) -> Stream | None:
        """Connect the target and the edge (at once, on the loop), present the token, relay.

        Only the TLS handshake leaves the loop (OpenSSL blocks); the relay runs in threads.
        """
        target_connect = asyncio.ensure_future(_connect(body.target_host, body.target_port))
        edge_connect = asyncio.ensure_future(_connect(body.edge_host, body.edge_port))
        target: socket.socket | None = None
        error: str | None = None
        try:
            target = await target_connect
        except OSError as exc:
            error = f"{body.target_host}:{body.target_port}: {exc.strerror or exc}"
        try:
            edge_sock = await edge_connect
        except BaseException:
            if target is not None:
                target.close()
            raise
        hello = encode_hello(
            TunnelStreamHello(
                stream_id=body.stream_id, stream_token=body.stream_token,
                ok=target is not None, error=error,
            )
        )  # fmt: skip
        try:
            edge = await self._present(edge_sock, body, hello)
        except BaseException:
            edge_sock.close()
            if target is not None:
                target.close()
            raise
        if target is None:
            log.info("tunnel stream %s: target unreachable: %s", body.stream_id, error)
            edge.close()
            return None
        tune_socket(target)
        stream = Stream(PlainEnd(target), edge, self._closed, label=f"tunnel-{body.service_id}")
        with self._lock:
            self.streams.add(stream)
            self.opened += 1
        stream.start()
        return stream

    async def open_logged(self, body: TunnelOpenBody) -> None:
        try:
            await self.open(body)
        except Exception as exc:
            log.warning("tunnel stream %s for service %s failed: %s: %s", body.stream_id,
                        body.service_id, type(exc).__name__, str(exc)[:200])  # fmt: skip

    async def _present(self, sock: socket.socket, body: TunnelOpenBody, hello: bytes) -> PlainEnd:
        tune_socket(sock)
        if not body.tls:
            await asyncio.get_running_loop().sock_sendall(sock, hello)
            return PlainEnd(sock)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._tls_present, sock, body, hello)

    def _tls_present(self, sock: socket.socket, body: TunnelOpenBody, hello: bytes) -> PlainEnd:
        assert body.edge_ca_pem is not None
        end = TlsEnd(
            sock, self._context(body.edge_ca_pem), server_side=False,
            server_hostname=body.edge_host,
        )  # fmt: skip
        sock.settimeout(CONNECT_TIMEOUT)
        end.handshake()
        end.write(hello)
        sock.settimeout(None)
        return end

    def _closed(self, stream: Stream) -> None:
        with self._lock:
            self.streams.discard(stream)

    def describe(self) -> dict[str, object]:
        with self._lock:
            return {
                "open_streams": len(self.streams),
                "opened": self.opened,
                "allow": sorted(f"{h}:{p}" for h, p in self.allow) if self.allow else None,
            }

    def close(self) -> None:
        with self._lock:
            streams = list(self.streams)
        for stream in streams:
            stream.abort()
        self._pool.shutdown(wait=False, cancel_futures=True)


async def _connect(host: str, port: int) -> socket.socket:
    """A connected non-blocking socket (an IP literal needs no resolver round trip)."""
    loop = asyncio.get_running_loop()
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        candidates: list[tuple[int, Any]] = [(family, (str(ip), port))]
    except ValueError:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        candidates = [(info[0], info[4]) for info in infos]
    failure: OSError = OSError(f"{host}: no address")
    for family, address in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, address), CONNECT_TIMEOUT)
            return sock
        except TimeoutError:
            sock.close()
            failure = OSError(f"{host}:{port}: connect timed out")
        except OSError as exc:
            sock.close()
            failure = exc
        except BaseException:
            sock.close()
            raise
    raise failure
