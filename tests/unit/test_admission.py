"""The gateway's admission bound: requests beyond it wait their turn (in arrival order) instead
of a 503; only one that cannot start within the wait bound is 503; WebSockets pass."""

from __future__ import annotations

import asyncio
import json

from starlette.types import Message, Receive, Scope, Send

from agentplane.gateway.admission import Admission


def _scope(kind: str = "http") -> Scope:
    return {"type": kind, "method": "GET", "path": "/v1/agents", "headers": []}


class _Held:
    """An app whose requests stay inside until released; records the order they entered."""

    def __init__(self) -> None:
        self.inside = 0
        self.entered: list[int] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.inside += 1
        self.entered.append(scope["n"])
        await self.release.wait()
        self.inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _call(app: Admission, scope: Scope) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


async def test_requests_beyond_the_bound_wait_and_are_served_in_order() -> None:
    held = _Held()
    app = Admission(held, max_in_flight=2, max_wait=30)
    calls = [asyncio.create_task(_call(app, {**_scope(), "n": n})) for n in range(6)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert held.inside == 2 and app.waiting == 4
    assert not any(c.done() for c in calls)  # waiting, not refused
    held.release.set()
    results = await asyncio.wait_for(asyncio.gather(*calls), 5)
    assert [status for status, _, _ in results] == [200] * 6
    assert held.entered == list(range(6))


async def test_a_request_that_cannot_start_in_time_is_503_unavailable() -> None:
    held = _Held()
    app = Admission(held, max_in_flight=1, max_wait=0.1)
    first = asyncio.create_task(_call(app, {**_scope(), "n": 0}))
    await asyncio.sleep(0)
    status, headers, body = await asyncio.wait_for(_call(app, {**_scope(), "n": 1}), 5)
    assert status == 503 and headers[b"retry-after"] == b"1"
    assert json.loads(body)["kind"] == "unavailable"
    assert held.entered == [0]
    held.release.set()
    assert (await first)[0] == 200


async def test_websockets_and_lifespan_are_not_counted() -> None:
    held = _Held()
    app = Admission(held, max_in_flight=1, max_wait=0.1)
    first = asyncio.create_task(_call(app, {**_scope(), "n": 0}))
    await asyncio.sleep(0)
    socket = asyncio.create_task(_call(app, {**_scope("websocket"), "n": 1}))
    for _ in range(5):
        await asyncio.sleep(0)
    assert held.entered == [0, 1]  # the socket went straight in although the bound is full
    held.release.set()
    assert [(await first)[0], (await socket)[0]] == [200, 200]
