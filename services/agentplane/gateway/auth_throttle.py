"""Failed authentications throttled per client address, across gateway replicas.

Every answer 401 counts one failure of the client's address (the TCP peer, or the address
the TLS terminator forwards in X-Forwarded-For together with its forwarding secret). Once an
address has `AGENTPLANE_AUTH_FAILURE_LIMIT_PER_MINUTE` failures within 60 s, every request
from it answers 429 with `Retry-After` (seconds until the oldest failure leaves the window)
before anything else runs: a guesser learns nothing more, and a good key from the same
address waits too (its owner shares the address with the guesser). `/health`, `/openapi.json`
and `/docs` stay open. Failures are shared by the replicas like every other limit
(gateway/rate_sync.py). WebSocket upgrades refused with a close code are not counted.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentplane.gateway.client_certificates import FORWARDING_SECRET_HEADER
from agentplane.gateway.error_bodies import error_body
from agentplane.gateway.open_paths import is_open_path
from agentplane.gateway.rate_limits import RateLimits


def client_address(scope: Scope, forwarding_secret: str | None) -> str:
    """The client's address: the terminator's X-Forwarded-For only with its secret."""
    headers = dict(scope.get("headers") or [])
    presented = headers.get(FORWARDING_SECRET_HEADER.encode())
    forwarded = headers.get(b"x-forwarded-for")
    if forwarding_secret and presented and forwarded:
        if hmac.compare_digest(presented, forwarding_secret.encode()):
            return forwarded.decode("latin-1").split(",")[0].strip()
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AuthFailureThrottle:
    """ASGI middleware: 429 for an address over its failure limit; counts 401 answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        limits: RateLimits = state.rate_limits
        if limits.auth_failures_per_minute == 0:
            await self.app(scope, receive, send)
            return
        address = client_address(scope, getattr(state, "tls_forwarding_secret", None))
        retry_after = limits.auth_blocked(address)
        if retry_after is not None:
            await _refuse(send, scope["path"], retry_after)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                limits.auth_failed(address)
            await send(message)

        await self.app(scope, receive, counting_send)


async def _refuse(send: Send, path: str, retry_after: int) -> None:
    body = error_body(path, "Too many failed authentications from this address", "rate_limited")
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"retry-after", str(retry_after).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
