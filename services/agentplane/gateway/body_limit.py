"""Request bodies are bounded before anything reads them: a declared Content-Length over the
limit is refused at once, and a body without one (chunked) is counted as its bytes arrive.
Both answer 413 with the error schema, before parsing or authentication."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentplane.contracts.errors import ErrorKind
from agentplane.gateway.errors import error_response

# No request of any dialect needs more (message payloads are bounded at 64 KiB).
MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(HTTPException):
    """The client sent more than the limit; nothing of it was parsed.

    An HTTPException, so a route reading its body hands it to the error handlers (FastAPI
    turns other exceptions raised while reading into a 400) and the answer is a JSON 413.
    """

    def __init__(self) -> None:
        super().__init__(413, f"Request body larger than {MAX_BODY_BYTES} bytes")


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    refusal = error_response(413, BodyTooLarge().detail, ErrorKind.TOO_LARGE.value)
    await refusal(scope, receive, send)


class BodyLimit:
    """ASGI middleware, outermost: 413 for bodies over `limit` bytes."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge()
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await _refuse(scope, receive, send)
