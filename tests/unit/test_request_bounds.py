"""Request bounds at the ASGI level: a stalled body is 408, an oversized one 413, JSON nested
too deep 400 — each in the dialect's error body, before the app reads anything.

The middlewares are the gateway's own; the client is an ASGI `receive` that stalls or keeps
sending, which no HTTP client library lets a test do on purpose.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from agentplane.gateway.body_limit import BodyLimit
from agentplane.gateway.json_depth import MAX_JSON_DEPTH, JsonDepthLimit, nested_deeper_than
from agentplane.gateway.main import uvicorn_config
from agentplane.settings import Settings


def _scope(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    return {"type": "http", "method": "POST", "path": path, "headers": headers or []}


async def _echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that reads its whole body and answers how many bytes it got."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


async def _call(
    app: Any, scope: Scope, messages: list[Message], stall: bool = False
) -> tuple[int, bytes]:
    pending = list(messages)
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if stall:
            await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 10)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


async def test_a_body_that_stops_arriving_is_408() -> None:
    app = BodyLimit(_echo_app, read_timeout=0.2)
    first = {"type": "http.request", "body": b'{"a": ', "more_body": True}
    status, body = await _call(app, _scope("/v1/agents/register"), [first], stall=True)
    assert status == 408
    assert json.loads(body)["kind"] == "timeout"
    status, body = await _call(app, _scope("/api/agent/heartbeat"), [first], stall=True)
    assert (status, json.loads(body)["success"]) == (408, False)


async def test_a_body_sent_at_its_own_pace_is_read() -> None:
    app = BodyLimit(_echo_app, read_timeout=5)
    chunks = [{"type": "http.request", "body": b"x" * 1000, "more_body": True}] * 5
    chunks.append({"type": "http.request", "body": b"", "more_body": False})
    assert await _call(app, _scope("/v1/agents/register"), chunks) == (200, b"5000")


async def test_chunks_over_the_limit_are_413_in_the_dialects_body() -> None:
    app = BodyLimit(_echo_app, limit=10_000)
    chunks = [{"type": "http.request", "body": b"x" * 4096, "more_body": True}] * 5
    status, body = await _call(app, _scope("/v1/agents/register"), chunks)
    assert (status, json.loads(body)["kind"]) == (413, "too_large")
    status, body = await _call(app, _scope("/api/agent/enroll"), chunks)
    assert (status, set(json.loads(body))) == (413, {"success", "error"})


async def test_json_nested_too_deep_is_400_before_the_app_reads_it() -> None:
    app = BodyLimit(JsonDepthLimit(_echo_app))
    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    status, body = await _call(app, _scope("/v1/agents/register"), [_whole(deep)])
    assert status == 400 and json.loads(body)["kind"] == "validation", body
    status, body = await _call(app, _scope("/api/agent/enroll"), [_whole(deep)])
    assert status == 400 and json.loads(body)["success"] is False
    # At the limit, and brackets inside strings, are the app's to judge.
    ok = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert await _call(app, _scope("/x"), [_whole(ok)]) == (200, str(len(ok)).encode())
    quoted = json.dumps({"token": "[" * 10_000 + '\\"{'}).encode()
    assert (await _call(app, _scope("/x"), [_whole(quoted)]))[0] == 200


def _whole(body: bytes) -> Message:
    return {"type": "http.request", "body": body, "more_body": False}


def test_depth_is_measured_outside_strings_only() -> None:
    assert not nested_deeper_than(b'{"a": [1, {"b": [2]}]}', 4)  # four levels
    assert nested_deeper_than(b'{"a": [1, {"b": [2]}]}', 3)
    assert not nested_deeper_than(b'["[[[[", "\\"[[[["]', 1)
    assert nested_deeper_than(b"[" * 200_000, 64)  # an attack body is cheap to refuse


def test_uvicorn_bounds_connections_and_idle_time() -> None:
    config = uvicorn_config(Settings(), object())
    assert config.limit_concurrency is not None and config.limit_concurrency <= 10_000
    assert 5 <= config.timeout_keep_alive <= 75
    assert config.h11_max_incomplete_event_size is not None
    assert config.timeout_graceful_shutdown is not None
