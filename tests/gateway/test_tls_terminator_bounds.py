"""The TLS terminator's forwarding is bounded like the gateway: body size (413), a stalled body
(408), idle connections and slowly sent heads (closed).

`serve_connection` is the terminator's own per-connection code, run here on plain TCP (the
handshake in front of it is ssl's) between a raw client socket and a small HTTP upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import h11
import pytest

from agentplane.gateway.tls.proxy import Limits, Upstream, serve_connection

LIMITS = Limits(idle_timeout=0.5, body_read_timeout=0.5, max_body_bytes=10_000)


class Recorder:
    """An upstream gateway stand-in that answers 200 with the body size it received."""

    def __init__(self) -> None:
        self.requests = 0
        self.body_bytes = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        size = 0
        with contextlib.suppress(ConnectionError, h11.ProtocolError):
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    conn.receive_data(data)
                    if not data:
                        break
                    continue
                if isinstance(event, h11.Request):
                    self.requests += 1
                elif isinstance(event, h11.Data):
                    size += len(event.data)
                    self.body_bytes += len(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    body = str(size).encode()
                    headers = [(b"content-length", str(len(body)).encode())]
                    writer.write(conn.send(h11.Response(status_code=200, headers=headers)) or b"")
                    writer.write(conn.send(h11.Data(data=body)) or b"")
                    writer.write(conn.send(h11.EndOfMessage()) or b"")
                    await writer.drain()
                    break
                else:
                    break
        writer.close()


@pytest.fixture
async def terminator() -> AsyncIterator[tuple[int, Recorder]]:
    recorder = Recorder()
    upstream = await asyncio.start_server(recorder.handle, "127.0.0.1", 0)
    up_port = upstream.sockets[0].getsockname()[1]

    async def admit() -> None:
        return None

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_connection(
            reader, writer, Upstream("127.0.0.1", up_port), [], admit, limits=LIMITS
        )

    front = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield front.sockets[0].getsockname()[1], recorder
    front.close()
    upstream.close()


async def _answer(reader: asyncio.StreamReader, timeout: float = 10) -> bytes:
    """Everything the terminator sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), timeout)


HEAD = b"POST /api/v1/agents/x/heartbeat HTTP/1.1\r\nhost: t\r\n"


async def test_a_request_within_bounds_is_forwarded(terminator: tuple[int, Recorder]) -> None:
    port, recorder = terminator
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEAD + b"content-length: 5000\r\nconnection: close\r\n\r\n" + b"x" * 5000)
    answer = await _answer(reader)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"5000"), answer
    assert recorder.requests == 1


async def test_a_declared_body_over_the_limit_is_413_and_never_forwarded(
    terminator: tuple[int, Recorder],
) -> None:
    port, recorder = terminator
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEAD + b"content-length: 20000\r\n\r\n")
    answer = await _answer(reader)
    assert answer.startswith(b"HTTP/1.1 413") and b'"too_large"' in answer, answer
    assert recorder.requests == 0


async def test_a_chunked_body_over_the_limit_is_413(terminator: tuple[int, Recorder]) -> None:
    port, recorder = terminator
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEAD + b"transfer-encoding: chunked\r\n\r\n")
    for _ in range(4):
        writer.write(b"1f40\r\n" + b"y" * 8000 + b"\r\n")
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    answer = await _answer(reader)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert recorder.body_bytes <= LIMITS.max_body_bytes


async def test_a_body_that_stops_arriving_is_408(terminator: tuple[int, Recorder]) -> None:
    port, _ = terminator
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEAD + b"content-length: 100\r\n\r\n" + b"z" * 10)
    started = time.monotonic()
    answer = await _answer(reader)
    assert answer.startswith(b"HTTP/1.1 408") and b'"timeout"' in answer, answer
    assert time.monotonic() - started >= LIMITS.body_read_timeout - 0.05


async def test_an_idle_connection_is_closed(terminator: tuple[int, Recorder]) -> None:
    port, _ = terminator
    reader, _writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    assert await _answer(reader) == b""
    assert time.monotonic() - started >= LIMITS.idle_timeout - 0.05


async def test_a_head_sent_a_byte_at_a_time_cannot_hold_the_connection(
    terminator: tuple[int, Recorder],
) -> None:
    port, recorder = terminator
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    closed = asyncio.ensure_future(_answer(reader, timeout=30))
    # Each byte comes well inside the idle timeout; together they never finish the head.
    for _ in range(60):
        if closed.done():
            break
        with contextlib.suppress(ConnectionError):
            writer.write(b"x")
            await writer.drain()
        await asyncio.sleep(LIMITS.idle_timeout / 5)
    assert closed.done(), "the terminator kept a connection whose head never ended"
    assert recorder.requests == 0
