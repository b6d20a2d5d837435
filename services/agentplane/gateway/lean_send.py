"""The seed 000 message send, served without FastAPI's per-request machinery when it can be.

A send is the busiest agent-to-agent write, and FastAPI's handling of it (solving the
authentication dependency, reading and validating the body through the route's field,
validating and serialising the answer through the response field) cost the gateway more than
the send's own work: ~150 µs of CPU per send in process, more than a whole no-op request.
This route sits in front of the documented one and takes the common case (a JSON body that
validates, a workspace key the gateway resolved recently) with the very same models, checks and
answer, in fewer steps. Everything else — a key to resolve or refuse, a body FastAPI would
refuse or parse differently, another content type — is routed on to the documented route with
the body as it came, so every error is the one it answers, and nothing was counted or sent
before it gets there. OpenAPI documents the documented route; this one is not in the schema.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from agentplane.contracts.http.messages import SendMessageBody
from agentplane.gateway.auth import WorkspaceKeys, app_bus
from agentplane.gateway.rate_limits import enforce_workspace_limit
from agentplane.gateway.routers.messages import SEND_PATH, send_from

# Set on a request this route handed on, so that routing it again skips this route.
_HANDED_ON = "agentplane.lean_send.handed_on"


class LeanSendRoute(Route):
    """`POST /v1/agents/{agent_id}/messages/send` for requests it can take whole."""

    def __init__(self) -> None:
        super().__init__(SEND_PATH, endpoint=self.send, methods=["POST"], include_in_schema=False)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # First in the routing table: every other request (a WebSocket has no method) is ruled
        # out by its method at once.
        if scope.get("method") != "POST" or _HANDED_ON in scope:
            return Match.NONE, {}
        match, child_scope = super().matches(scope)
        # A wrong method is the documented route's 405 to answer, not this one's.
        return (Match.NONE, {}) if match is Match.PARTIAL else (match, child_scope)

    async def send(self, request: Request) -> Response:
        body = await request.body()
        parsed = _parsed(request, body)
        if parsed is None:
            return HandOn(body)
        api_key, send_body = parsed
        keys: WorkspaceKeys = request.app.state.workspace_keys
        workspace = keys.cached(api_key)
        if workspace is None:
            return HandOn(body)
        # From here on as the documented route, in its order: the limit, then the send itself.
        enforce_workspace_limit(request, workspace)
        bus = app_bus(request)
        answer = await send_from(bus, workspace, request.path_params["agent_id"], send_body)
        return Response(orjson.dumps(answer), media_type="application/json")


def _parsed(request: Request, body: bytes) -> tuple[str, SendMessageBody] | None:
    """(the API key, the validated body), or None when the documented route should answer."""
    headers = request.headers
    api_key = headers.get("x-api-key")
    content_type = headers.get("content-type", "")
    if not api_key or content_type.split(";", 1)[0].strip().lower() != "application/json":
        return None
    try:
        # orjson refuses whatever json.loads would parse differently (NaN, other encodings).
        data: Any = orjson.loads(body)
        return api_key, SendMessageBody.model_validate(data)
    except (orjson.JSONDecodeError, ValidationError):
        return None


class HandOn(Response):
    """Routes the request on, past this route, with its body replayed."""

    def __init__(self, body: bytes) -> None:
        self.replayed = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_HANDED_ON] = True
        pending = [{"type": "http.request", "body": self.replayed, "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await scope["router"](scope, replay, send)
