"""A server that pings before its first PONG (nats-server does 2 s after accept, e.g. while an
auth callout is queued) must not hand back a client that silently never sends."""

from __future__ import annotations

import asyncio
import json

import nats
import pytest

from agentplane.nats_connect import HandshakeIncomplete, connect_verified

INFO = {"server_id": "test", "version": "2.10.0", "max_payload": 1048576, "proto": 1}


async def _pinging_first_server(ping_first: bool) -> asyncio.Server:
    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"INFO " + json.dumps(INFO).encode() + b"\r\n")
        await writer.drain()
        first = ping_first
        try:
            while line := await reader.readline():
                if line.startswith(b"PING"):
                    writer.write((b"PING\r\n" if first else b"") + b"PONG\r\n")
                    first = False
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    return await asyncio.start_server(client, "127.0.0.1", 0)


@pytest.mark.parametrize("ping_first", [True, False])
async def test_a_half_open_handshake_is_refused(ping_first: bool) -> None:
    server = await _pinging_first_server(ping_first)
    port = server.sockets[0].getsockname()[1]
    url = f"nats://127.0.0.1:{port}"
    options = {"allow_reconnect": False, "max_reconnect_attempts": 0, "connect_timeout": 2}
    try:
        if ping_first:
            # The library defect this guards against: connect() "succeeds" half-open.
            raw = await nats.connect(url, **options)
            assert not raw.is_connected
            await raw.close()
            with pytest.raises(HandshakeIncomplete):
                await connect_verified(url, **options)
        else:
            nc = await connect_verified(url, **options)
            assert nc.is_connected
            await nc.close()
    finally:
        server.close()
        await server.wait_closed()
