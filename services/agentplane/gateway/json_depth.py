"""JSON bodies nested deeper than MAX_JSON_DEPTH are refused with 400 before parsing.

Python's parser recurses per level (a body of 100,000 `[` costs a RecursionError deep inside
FastAPI), and validation walks every level again; no document of any dialect nests anywhere
near this deep. Bodies are already bounded in size (BodyLimit, the outer middleware), so this
one reads the body, measures it, and hands the same bytes on.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentplane.gateway.error_bodies import send_error

MAX_JSON_DEPTH = 64
TOO_DEEP = f"Invalid request: JSON nested deeper than {MAX_JSON_DEPTH} levels"
# Whole strings (so brackets inside them do not count) and the brackets themselves.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPEN = frozenset(b"[{")


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """True when arrays and objects nest more than `limit` levels (strings skipped)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # the common case, at C speed
    depth = 0
    for match in _TOKENS.finditer(body):
        first = match.group()[0]
        if first in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif first != 0x22:  # a closing bracket (0x22 is the quote of a string)
            depth -= 1
    return False


def _is_json(scope: Scope) -> bool:
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    media = content_type.split(b";", 1)[0].strip().lower()
    # FastAPI parses a body without a content type as JSON too.
    return not media or media == b"application/json" or media.endswith(b"+json")


class JsonDepthLimit:
    """ASGI middleware: 400 for JSON bodies nested deeper than `limit`."""

    def __init__(self, app: ASGIApp, limit: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD") or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if nested_deeper_than(body, self.limit):
            await send_error(send, scope.get("path", ""), 400, TOO_DEEP, "validation")
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
