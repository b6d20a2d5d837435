"""The lean message send (gateway/lean_send.py) answers exactly as the documented route.

Two gateway apps side by side, each with a recording bus that answers like the services: the
real one, and one without the lean route (the documented FastAPI route serves every send). Every
request goes to both; status, headers and body must be the same, and so must what reached the
bus. The lean route must serve the common case itself (no hand-on) and hand everything else on.
The end-to-end behaviour on a real system is in tests/e2e/test_seed000_messages.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import uuid4

import httpx
import pytest
from starlette.routing import Match

from agentplane.bus.requests import BusClient
from agentplane.contracts.subjects import Messaging
from agentplane.gateway import lean_send
from agentplane.gateway.app import create_app
from agentplane.gateway.auth import WorkspaceKeys
from agentplane.gateway.lean_send import LeanSendRoute
from agentplane.settings import GatewaySettings

UNKNOWN_RECIPIENT = str(uuid4())
# Time-derived headers may differ by a second between the two apps' answers.
CLOCK_HEADERS = {"x-ratelimit-reset", "retry-after"}


class _Msg:
    def __init__(self, data: bytes) -> None:
        self.data = data


class RecordingNats:
    """Answers as the registry and messaging would; records what each request carried."""

    is_closed = False
    is_connected = True

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def request(self, subject: str, data: bytes, timeout: float = 1.0, headers: Any = None):
        await asyncio.sleep(0)
        body = json.loads(data)
        self.sent.append((subject, body))
        if subject.endswith("workspace.authenticate"):
            if body["api_key"] == "ap_wrong":
                error = {"kind": "unauthorized", "message": "Invalid API key"}
                return _Msg(json.dumps({"ok": False, "error": error}).encode())
            identity = {"workspace_id": "ws_1", "workspace_name": "w", "tier": "free"}
            return _Msg(json.dumps({"ok": True, "data": identity}).encode())
        assert subject == Messaging.MESSAGE_SEND, subject
        if body["to_agent_id"] == UNKNOWN_RECIPIENT:
            error = {"kind": "not_found", "message": "Agent not found"}
            return _Msg(json.dumps({"ok": False, "error": error}).encode())
        sent = {"message_id": f"msg_{len(self.sent)}", "expires_at": "2026-12-07T10:00:00.5+00:00"}
        return _Msg(json.dumps({"ok": True, "data": sent}).encode())


def _app(lean: bool) -> tuple[Any, RecordingNats]:
    app = create_app(GatewaySettings(rate_limit_scope="all"))
    if not lean:
        app.router.routes[:] = [r for r in app.router.routes if not isinstance(r, LeanSendRoute)]
    nc = RecordingNats()
    app.state.nc = nc
    app.state.bus = BusClient(nc, 5.0)  # type: ignore[arg-type]
    app.state.workspace_keys = WorkspaceKeys(app.state.bus)
    return app, nc


@pytest.fixture
def hand_ons(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    seen: list[bytes] = []
    original = lean_send.HandOn.__init__

    def recording(self: lean_send.HandOn, body: bytes) -> None:
        seen.append(body)
        original(self, body)

    monkeypatch.setattr(lean_send.HandOn, "__init__", recording)
    return seen


def _answer(response: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    headers = {k: v for k, v in response.headers.items() if k not in CLOCK_HEADERS}
    return response.status_code, headers, response.content


async def _both(
    method: str, path: str, content: bytes | None, headers: dict[str, str]
) -> tuple[httpx.Response, httpx.Response]:
    answers = []
    for app in APPS:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            answers.append(await client.request(method, path, content=content, headers=headers))
    lean, documented = answers
    assert _answer(lean) == _answer(documented), (path, content)
    for name in CLOCK_HEADERS:
        assert (name in lean.headers) == (name in documented.headers)
        if name in lean.headers:
            assert abs(int(lean.headers[name]) - int(documented.headers[name])) <= 1
    return lean, documented


APPS: list[Any] = []


@pytest.fixture
def apps() -> tuple[RecordingNats, RecordingNats]:
    (lean_app, lean_nc), (doc_app, doc_nc) = _app(lean=True), _app(lean=False)
    APPS[:] = [lean_app, doc_app]
    return lean_nc, doc_nc


def _send(body: Any, agent: str | None = None, key: str = "ap_good", **headers: str):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    path = f"/v1/agents/{agent or uuid4()}/messages/send"
    return "POST", path, content, {"x-api-key": key, "content-type": "application/json", **headers}


async def test_the_common_case_is_served_by_the_lean_route_as_the_documented_one_would(
    apps: tuple[RecordingNats, RecordingNats], hand_ons: list[bytes]
) -> None:
    lean_nc, doc_nc = apps
    sender, to = str(uuid4()), str(uuid4())
    body = {"toAgentId": to, "payload": {"n": 1, "text": "héllo"}, "channel": "c",
            "type": "request", "correlationId": "k1", "ttlSeconds": 60}  # fmt: skip
    # The key is not resolved yet: the documented route resolves it (a hand-on).
    first, _ = await _both(*_send(body, sender))
    assert first.status_code == 200 and len(hand_ons) == 1
    # Resolved now: the lean route serves the next ones itself.
    for _ in range(3):
        answer, _ = await _both(*_send(body, sender))
        assert answer.status_code == 200
        assert answer.json() == {"success": True, "messageId": answer.json()["messageId"],
                                 "expiresAt": "2026-12-07T10:00:00.500Z"}  # fmt: skip
        assert answer.headers["x-ratelimit-limit"] and answer.headers["x-ratelimit-remaining"]
    assert len(hand_ons) == 1
    assert lean_nc.sent == doc_nc.sent
    sends = [b for s, b in lean_nc.sent if s == Messaging.MESSAGE_SEND]
    assert len(sends) == 4 and sends[-1]["from_agent_id"] == sender
    assert sends[-1]["message"]["type"] == "request" and sends[-1]["message"]["ttl_seconds"] == 60


@pytest.mark.parametrize(
    "request_",
    [
        _send({"payload": {"n": 1}}),  # toAgentId missing
        _send({"toAgentId": str(uuid4()), "payload": [1]}),  # payload not an object
        _send({"toAgentId": str(uuid4()), "payload": {}, "ttlSeconds": 0}),
        _send({"toAgentId": str(uuid4()), "payload": {}, "type": "shout"}),
        _send({"toAgentId": str(uuid4()), "payload": {}, "channel": "c" * 101}),
        _send(b'{"toAgentId": "x", "payload": {"n": NaN}}'),
        _send(b'{"toAgentId": '),  # not JSON
        _send(b"[" * 100 + b"]" * 100),  # too deep
        _send({"toAgentId": str(uuid4()), "payload": {}}, **{"content-type": "text/plain"}),
        _send({"toAgentId": str(uuid4()), "payload": {}}, key="ap_wrong"),
        _send({"toAgentId": str(uuid4()), "payload": {}}, agent="not-a-uuid"),
        _send({"toAgentId": str(uuid4()), "payload": {"big": "x" * 70_000}}),
        _send({"toAgentId": UNKNOWN_RECIPIENT, "payload": {}}),
        ("GET", f"/v1/agents/{uuid4()}/messages/send", None, {"x-api-key": "ap_good"}),
    ],
)
async def test_every_other_request_gets_the_documented_answer(
    apps: tuple[RecordingNats, RecordingNats], request_: Any
) -> None:
    lean_nc, doc_nc = apps
    await _both(*_send({"toAgentId": str(uuid4()), "payload": {}}))  # the key is resolved
    answer, _ = await _both(*request_)
    assert answer.status_code in (400, 401, 404, 405, 413), answer.text
    assert lean_nc.sent == doc_nc.sent


async def test_the_rate_limit_counts_each_send_once_on_either_route(
    apps: tuple[RecordingNats, RecordingNats], hand_ons: list[bytes]
) -> None:
    statuses = []
    for n in range(14):  # the free tier's burst is 10; invalid bodies count as well
        body = {"toAgentId": str(uuid4()), "payload": {"n": n}} if n % 3 else {"payload": 1}
        answer, _ = await _both(*_send(body))
        statuses.append(answer.status_code)
    assert 429 in statuses and statuses[:10].count(429) == 0
    assert len(hand_ons) >= 5  # the invalid ones went on to the documented route


@pytest.mark.parametrize(
    ("scope_type", "method"), [("websocket", None), ("http", "GET"), ("http", "PUT")]
)
def test_the_lean_route_first_in_the_table_passes_every_other_request_on(
    scope_type: str, method: str | None
) -> None:
    """It is matched before every router: a WebSocket (no method at all) or another method on
    its very path must fall through to the routes after it, never fail in it."""

    scope: dict[str, Any] = {"type": scope_type, "path": f"/v1/agents/{uuid4()}/messages/send"}
    if method is not None:
        scope["method"] = method
    assert LeanSendRoute().matches(scope) == (Match.NONE, {})
