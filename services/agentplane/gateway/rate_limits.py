"""Per-workspace rate limits of seed 004, by tier, with the `limits` package.

Semantics (the document gives "requests per minute" and "burst" per tier):
- requests per minute: at most N requests in any 60-second span (moving window);
- burst: at most B of them within any one second (moving window), so a client cannot spend
  its minute in one spike.
A request is counted only when both windows admit it, so a rejected request costs nothing.

Headers on every answer of a limited route (errors included): `X-RateLimit-Limit` (requests
per minute), `X-RateLimit-Remaining` (left in the current minute window), `X-RateLimit-Reset`
(Unix time in whole seconds when the oldest counted request leaves the minute window; on a
429, when the request would be admitted). A 429 adds `Retry-After` in seconds.

Counters live in this gateway process (memory). With N gateway replicas each admits its own
share; deployments that need one exact limit across replicas route a workspace to one replica.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentplane.contracts.workspaces import Tier, WorkspaceIdentity
from agentplane.gateway.errors import error_response

_STATE_KEY = "rate_limit_headers"


@dataclass(frozen=True)
class TierLimit:
    """Requests per minute and per-second burst of one tier."""

    per_minute: int
    burst: int


TIER_LIMITS = {
    Tier.FREE: TierLimit(per_minute=60, burst=10),
    Tier.PRO: TierLimit(per_minute=300, burst=50),
    Tier.ENTERPRISE: TierLimit(per_minute=1000, burst=100),
}


class RateLimitExceeded(Exception):
    """The workspace spent its minute or its burst; headers say when to come back."""


@dataclass(frozen=True)
class Decision:
    """The outcome of one request against its workspace's limits."""

    allowed: bool
    headers: dict[str, str]


class RateLimits:
    """Moving-window counters per workspace, in memory."""

    def __init__(self) -> None:
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items: dict[Tier, tuple[RateLimitItem, RateLimitItem]] = {
            tier: (RateLimitItemPerMinute(limit.per_minute), RateLimitItemPerSecond(limit.burst))
            for tier, limit in TIER_LIMITS.items()
        }

    def check(self, workspace_id: str, tier: Tier) -> Decision:
        """Count the request if both windows admit it; the caller must not await in between."""
        minute, burst = self._items[tier]
        key = f"workspace:{workspace_id}"
        exceeded = [item for item in (minute, burst) if not self.limiter.test(item, key)]
        if not exceeded:
            self.limiter.hit(minute, key)
            self.limiter.hit(burst, key)
        stats = self.limiter.get_window_stats(minute, key)
        headers = {
            "X-RateLimit-Limit": str(minute.amount),
            "X-RateLimit-Remaining": str(max(0, stats.remaining)),
            "X-RateLimit-Reset": str(math.ceil(stats.reset_time)),
        }
        if exceeded:
            admit_at = max(self.limiter.get_window_stats(i, key).reset_time for i in exceeded)
            headers["X-RateLimit-Reset"] = str(math.ceil(admit_at))
            headers["Retry-After"] = str(max(1, math.ceil(admit_at - time.time())))
        return Decision(allowed=not exceeded, headers=headers)


def enforce_rate_limit(request: Request, workspace: WorkspaceIdentity) -> None:
    """Count a request of `workspace`; raise RateLimitExceeded when over its tier's limits."""
    limits: RateLimits = request.app.state.rate_limits
    decision = limits.check(workspace.workspace_id, workspace.tier)
    # Picked up by RateLimitHeaders, so error answers carry the headers too.
    request.scope.setdefault("state", {})[_STATE_KEY] = decision.headers
    if not decision.allowed:
        raise RateLimitExceeded(workspace.workspace_id)


class RateLimitHeaders:
    """ASGI middleware: adds the headers a rate-limited route computed to its answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # Created here, so the route's scope (a copy further in) shares this very dict.
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = state.get(_STATE_KEY)
                if headers:
                    message["headers"] = [
                        *message.get("headers", []),
                        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_rate_limits(app: FastAPI) -> None:
    app.state.rate_limits = RateLimits()
    app.add_middleware(RateLimitHeaders)

    @app.exception_handler(RateLimitExceeded)
    async def on_rate_limited(_: Request, exc: RateLimitExceeded) -> JSONResponse:
        return error_response(429, "Too Many Requests", "rate_limited")
