"""Requests beyond the gateway's in-flight bound wait their turn instead of being refused.

uvicorn's own bound (`limit_concurrency`) answers 503 at once and counts open connections
as well as requests: a storm of 5,000 clients on keep-alive connections got 503s although
every service was up. The gateway now lets uvicorn hold many connections (an idle one costs
little) and bounds what costs memory and work, the requests being served: at most
`max_in_flight` are inside the app, the next ones wait here in arrival order. A waiting
request has not been read beyond its head (uvicorn stops reading a body at 64 KiB until the
app asks for it). Only a request that could not start within `max_wait` seconds is answered
503 (`unavailable`, with Retry-After): the gateway is then overloaded, not merely busy.
WebSockets and lifespan events pass through (a channel socket lives for hours).
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from agentplane.gateway.error_bodies import error_body

# Requests served at once (each may hold a body of up to 1 MiB while it is read).
MAX_IN_FLIGHT = 4096
# Longest wait for a turn before the answer is 503.
MAX_WAIT_SECONDS = 30.0
OVERLOADED = "The gateway is overloaded; retry shortly"


class Admission:
    """ASGI middleware, outermost: at most `max_in_flight` HTTP requests in the app."""

    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_wait: float = MAX_WAIT_SECONDS,
    ) -> None:
        self.app = app
        self.max_wait = max_wait
        # Created lazily: the semaphore belongs to the loop that serves.
        self.max_in_flight = max_in_flight
        self._slots: asyncio.Semaphore | None = None
        self.waiting = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_in_flight)
        slots = self._slots
        if slots.locked() or self.waiting:
            self.waiting += 1
            try:
                await asyncio.wait_for(slots.acquire(), self.max_wait)
            except TimeoutError:
                await _overloaded(send, scope.get("path", ""))
                return
            finally:
                self.waiting -= 1
        else:
            await slots.acquire()
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()


async def _overloaded(send: Send, path: str) -> None:
    data = json.dumps(error_body(path, OVERLOADED, "unavailable")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
