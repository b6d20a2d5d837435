"""Request bodies are bounded before anything reads them, in size and in time.

A declared Content-Length over the limit is refused at once, and a body without one (chunked)
is counted as its bytes arrive: 413. A client that stops sending in the middle of its body
(a slow-loris) is answered 408 after BODY_READ_TIMEOUT instead of holding a slot for ever.
Both answer with the dialect's error body, before parsing or authentication.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentplane.gateway.error_bodies import send_error

# No request of any dialect needs more (message payloads are bounded at 64 KiB).
MAX_BODY_BYTES = 1024 * 1024
# Longest wait for the next piece of a body that has begun.
BODY_READ_TIMEOUT = 30.0
TOO_LARGE = f"Request body larger than {MAX_BODY_BYTES} bytes"
TOO_SLOW = f"Request body not received within {BODY_READ_TIMEOUT:.0f} seconds"


class BodyTooLarge(HTTPException):
    """The client sent more than the limit; nothing of it was parsed.

    An HTTPException, so a route reading its body hands it to the error handlers (FastAPI
    turns other exceptions raised while reading into a 400) and the answer is a JSON 413.
    """

    def __init__(self) -> None:
        super().__init__(413, TOO_LARGE)


class BodyTooSlow(HTTPException):
    """The client stopped sending its body."""

    def __init__(self) -> None:
        super().__init__(408, TOO_SLOW)


class BodyLimit:
    """ASGI middleware, outermost: 413 for bodies over `limit` bytes, 408 for stalled ones."""

    def __init__(
        self, app: ASGIApp, limit: int = MAX_BODY_BYTES, read_timeout: float = BODY_READ_TIMEOUT
    ) -> None:
        self.app = app
        self.limit = limit
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await send_error(send, path, 413, TOO_LARGE, "too_large")
            return
        received = 0
        body_done = False
        started = False

        async def counted() -> Message:
            nonlocal received, body_done
            if body_done:
                # After the body only a disconnect can come; waiting for it is not reading.
                return await receive()
            try:
                # Not wait_for: it wraps every read in a task of its own (a loop round more).
                async with asyncio.timeout(self.read_timeout):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge()
                body_done = not message.get("more_body", False)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except (BodyTooLarge, BodyTooSlow) as exc:
            if not started:
                kind = "too_large" if exc.status_code == 413 else "timeout"
                await send_error(send, path, exc.status_code, str(exc.detail), kind)
