"""HTTP/1.1 forwarding from one verified TLS connection to the gateway, request by request.

Every request is parsed (h11), so identity headers are set on each request of a keep-alive
connection, not only the first, and nothing the client sends can pose as them. Each request
gets its own upstream connection to the local gateway (cheap on loopback, and no stale
keep-alive state). A protocol upgrade (WebSocket) that the gateway accepts with 101 becomes a
plain byte tunnel after the rewritten handshake.

Bounded like the gateway itself: a request head must be complete within the idle timeout
(h11 bounds its size), a body bigger than MAX_BODY_BYTES is answered 413 (a declared length
before anything is forwarded, a chunked one as it arrives), and a body that stops arriving is
answered 408; the connection is closed after each of these.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import h11

from agentplane.gateway.body_limit import BODY_READ_TIMEOUT, MAX_BODY_BYTES, TOO_LARGE, TOO_SLOW
from agentplane.gateway.client_certificates import STRIPPED_PREFIXES

log = logging.getLogger("agentplane.gateway.tls")

READ_SIZE = 65536
# How long a client may keep an idle keep-alive connection open between requests, and the
# longest it may take to send a request head.
IDLE_TIMEOUT = 75.0
_FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto")

Headers = list[tuple[bytes, bytes]]
# Decides per request whether it may pass; returns None or a (status, message) refusal.
Admission = Callable[[], Awaitable[tuple[int, str] | None]]


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int


@dataclass(frozen=True)
class Limits:
    """What one client connection may cost (tests shorten the times)."""

    idle_timeout: float = IDLE_TIMEOUT
    body_read_timeout: float = BODY_READ_TIMEOUT
    max_body_bytes: int = MAX_BODY_BYTES


class ConnectionDone(Exception):
    """The client went away or spoke broken HTTP; the connection just ends."""


async def _next_event(
    conn: h11.Connection, reader: asyncio.StreamReader, timeout: float | None = None
) -> object:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        data = await asyncio.wait_for(reader.read(READ_SIZE), timeout)
        conn.receive_data(data)


def _forwarded_headers(headers: Headers, identity: Headers, peer: str) -> Headers:
    kept = [
        (name, value)
        for name, value in headers
        if not name.lower().startswith(tuple(p.encode() for p in STRIPPED_PREFIXES))
        and name.lower() not in _FORWARDED
        # We answer `Expect: 100-continue` ourselves (the body is read before forwarding).
        and not (name.lower() == b"expect" and value.lower() == b"100-continue")
    ]
    return [
        *kept,
        *identity,
        (b"x-forwarded-for", peer.encode()),
        (b"x-forwarded-proto", b"https"),
    ]


def _json_response(status: int, message: str, kind: str) -> tuple[h11.Response, bytes]:
    body = json.dumps({"error": message, "kind": kind}).encode()
    head = h11.Response(
        status_code=status,
        headers=[
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    )
    return head, body


async def _refuse(
    client: h11.Connection, writer: asyncio.StreamWriter, status: int, message: str, kind: str
) -> None:
    head, body = _json_response(status, message, kind)
    with contextlib.suppress(h11.LocalProtocolError):
        writer.write(client.send(head) or b"")
        writer.write(client.send(h11.Data(data=body)) or b"")
        writer.write(client.send(h11.EndOfMessage()) or b"")
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(READ_SIZE):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream: Upstream,
    identity: Headers,
    admit: Admission,
    limits: Limits = Limits(),
) -> None:
    """Forward the connection's requests until either side closes."""
    peer = (writer.get_extra_info("peername") or ("unknown",))[0]
    client = h11.Connection(h11.SERVER)
    try:
        while True:
            try:
                # One deadline for idling and the whole head: a head sent a byte at a time
                # cannot hold the connection longer.
                async with asyncio.timeout(limits.idle_timeout):
                    event = await _next_event(client, reader)
            except (h11.RemoteProtocolError, TimeoutError, ConnectionError):
                return
            if not isinstance(event, h11.Request):
                return  # ConnectionClosed, or nothing more to read
            refusal = await admit()
            if refusal is not None:
                status, message = refusal
                kind = "forbidden" if status == 403 else "unavailable"
                await _refuse(client, writer, status, message, kind)
                return
            declared = _content_length(event)
            if declared is not None and declared > limits.max_body_bytes:
                await _refuse(client, writer, 413, TOO_LARGE, "too_large")
                return
            if not await _forward(client, reader, writer, event, upstream, identity, peer, limits):
                return
            if client.our_state is h11.DONE and client.their_state is h11.DONE:
                client.start_next_cycle()
            else:
                return
    finally:
        with contextlib.suppress(Exception):
            writer.close()
            await writer.wait_closed()


def _content_length(request: h11.Request) -> int | None:
    for name, value in request.headers:
        if name.lower() == b"content-length" and value.isdigit():
            return int(value)
    return None


async def _forward(
    client: h11.Connection,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: h11.Request,
    upstream: Upstream,
    identity: Headers,
    peer: str,
    limits: Limits,
) -> bool:
    """One request/response exchange; False when the connection must end afterwards."""
    try:
        up_reader, up_writer = await asyncio.open_connection(upstream.host, upstream.port)
    except OSError:
        await _refuse(client, writer, 502, "Gateway unreachable", "unavailable")
        return False
    server = h11.Connection(h11.CLIENT)
    try:
        expects_continue = any(
            n.lower() == b"expect" and v.lower() == b"100-continue" for n, v in request.headers
        )
        head = h11.Request(
            method=request.method,
            target=request.target,
            headers=_forwarded_headers(list(request.headers), identity, peer),
        )
        up_writer.write(server.send(head) or b"")
        if expects_continue and client.they_are_waiting_for_100_continue:
            writer.write(client.send(h11.InformationalResponse(status_code=100, headers=[])) or b"")
            await writer.drain()
        # The request body, as it arrives.
        sent = 0
        while True:
            try:
                event = await _next_event(client, reader, limits.body_read_timeout)
            except TimeoutError:
                await _refuse(client, writer, 408, TOO_SLOW, "timeout")
                return False
            if isinstance(event, h11.Data):
                sent += len(event.data)
                if sent > limits.max_body_bytes:
                    await _refuse(client, writer, 413, TOO_LARGE, "too_large")
                    return False
                up_writer.write(server.send(h11.Data(data=event.data)) or b"")
                await up_writer.drain()
            elif isinstance(event, h11.EndOfMessage):
                up_writer.write(server.send(h11.EndOfMessage()) or b"")
                await up_writer.drain()
                break
            elif event is h11.PAUSED:
                # An upgrade request: h11 hands over after the head.
                up_writer.write(server.send(h11.EndOfMessage()) or b"")
                await up_writer.drain()
                break
            else:
                return False
        # The response, as it arrives.
        while True:
            event = await _next_event(server, up_reader)
            if isinstance(event, h11.InformationalResponse):
                writer.write(client.send(event) or b"")
                await writer.drain()
                if event.status_code == 101:
                    await _tunnel(client, server, reader, writer, up_reader, up_writer)
                    return False
            elif isinstance(event, h11.Response):
                writer.write(client.send(event) or b"")
            elif isinstance(event, h11.Data):
                writer.write(client.send(h11.Data(data=event.data)) or b"")
                await writer.drain()
            elif isinstance(event, h11.EndOfMessage):
                writer.write(client.send(h11.EndOfMessage()) or b"")
                await writer.drain()
                return True
            else:
                return False
    except (h11.ProtocolError, ConnectionError, asyncio.IncompleteReadError) as exc:
        log.info("forwarding from %s ended: %s", peer, exc)
        if client.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            await _refuse(client, writer, 502, "Bad gateway", "unavailable")
        return False
    finally:
        with contextlib.suppress(Exception):
            up_writer.close()


async def _tunnel(
    client: h11.Connection,
    server: h11.Connection,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    """After a 101: bytes both ways, starting with what h11 had already buffered."""
    client_rest, _ = client.trailing_data
    server_rest, _ = server.trailing_data
    if client_rest:
        up_writer.write(client_rest)
    if server_rest:
        writer.write(server_rest)
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
