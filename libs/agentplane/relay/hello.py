"""The first frame of a data connection (`contracts.tunnels.STREAM_MAGIC`): written by the
agent, read by the edge before a single payload byte."""

from __future__ import annotations

import struct

from agentplane.contracts.tunnels import MAX_STREAM_HELLO_BYTES, STREAM_MAGIC, TunnelStreamHello
from agentplane.relay.ends import PlainEnd

_LENGTH = struct.Struct(">H")


class BadHello(Exception):
    """Not a data connection of this protocol, or a malformed frame."""


def encode_hello(hello: TunnelStreamHello) -> bytes:
    body = hello.model_dump_json().encode()
    return STREAM_MAGIC + _LENGTH.pack(len(body)) + body


HEAD_SIZE = len(STREAM_MAGIC) + _LENGTH.size


def body_length(head: bytes) -> int:
    """The length the frame's head announces (HEAD_SIZE bytes)."""
    if head[: len(STREAM_MAGIC)] != STREAM_MAGIC:
        raise BadHello("not a tunnel data connection")
    (length,) = _LENGTH.unpack(head[len(STREAM_MAGIC) :])
    if not 0 < length <= MAX_STREAM_HELLO_BYTES:
        raise BadHello(f"hello frame of {length} bytes")
    return int(length)


def parse_body(body: bytes) -> TunnelStreamHello:
    try:
        return TunnelStreamHello.model_validate_json(body)
    except ValueError as exc:
        raise BadHello("invalid hello frame") from exc


def read_hello(end: PlainEnd) -> TunnelStreamHello:
    """Exactly the frame: whatever follows stays unread for the relay."""
    length = body_length(end.read_exactly(HEAD_SIZE))
    return parse_body(end.read_exactly(length))
