"""Rate limits: per workspace by tier (seed 004 numbers) on every dialect, per agent, and
failed authentications per client address; shared by all gateway replicas.

Semantics (the seed 004 document gives "requests per minute" and "burst" per tier):
- requests per minute: at most N requests in any 60-second span (moving window);
- burst: at most B of them within any one second (moving window), so a client cannot spend
  its minute in one spike.
A request is counted only when both windows admit it, so a rejected request costs nothing.

What is limited (`AGENTPLANE_RATE_LIMIT_SCOPE=all`, the default):
- one bucket per workspace (`ws:<id>`) for every request a workspace key authenticates, on
  every dialect: seed 000 `/v1/*` (`x-api-key`), seed 002 `/api/v1/*` as the operator, seed 003
  operator routes, seed 004 `/api/agents*` (Bearer). Seed 004 heartbeats stay unlimited (the
  control path, routers/pap.py);
- one bucket per agent (`agent:<id>`) for every request an agent credential authenticates
  (seed 000 token, seed 002 JWT or client certificate, seed 003 device key, the agent
  channel), with `AGENTPLANE_AGENT_RATE_LIMIT_PER_MINUTE`/`_BURST`;
- failed authentications per client address (gateway/auth_throttle.py).
With `pap` only the seed 004 routes are limited (per workspace), as before.

Headers on every answer of a limited route (errors included): `X-RateLimit-Limit` (requests
per minute), `X-RateLimit-Remaining` (left in the current minute window), `X-RateLimit-Reset`
(Unix time in whole seconds when the oldest counted request leaves the minute window; on a
429, when the request would be admitted). A 429 adds `Retry-After` in seconds.

Each replica decides from its own windows; replicas exchange what they admitted through NATS
(gateway/rate_sync.py), so N replicas together admit the limit plus a small documented slack.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentplane.contracts.workspaces import Tier, WorkspaceIdentity
from agentplane.gateway.error_bodies import error_body
from agentplane.gateway.rate_sync import RateSync
from agentplane.gateway.rate_windows import Limit, MovingWindows, Verdict
from agentplane.settings import Settings

_STATE_KEY = "rate_limit_headers"
TOO_MANY = "Too Many Requests"

# The seed 004 tiers.
TIER_LIMITS = {
    Tier.FREE: Limit(per_minute=60, burst=10),
    Tier.PRO: Limit(per_minute=300, burst=50),
    Tier.ENTERPRISE: Limit(per_minute=1000, burst=100),
}
TierLimit = Limit


class RateLimitExceeded(Exception):
    """The workspace or agent spent its minute or its burst; headers say when to come back."""


@dataclass(frozen=True)
class Decision:
    """The outcome of one request against its limits."""

    allowed: bool
    headers: dict[str, str]


def _headers(verdict: Verdict) -> dict[str, str]:
    headers = {
        "X-RateLimit-Limit": str(verdict.limit),
        "X-RateLimit-Remaining": str(verdict.remaining),
        "X-RateLimit-Reset": str(math.ceil(verdict.reset_at)),
    }
    if verdict.retry_after is not None:
        headers["Retry-After"] = str(verdict.retry_after)
    return headers


class RateLimits:
    """This replica's windows of every limit, shared with the other replicas by `sync`."""

    def __init__(
        self,
        scope: Literal["all", "pap"] = "all",
        agent_limit: Limit = Limit(per_minute=600, burst=60),
        auth_failures_per_minute: int = 60,
        sync_seconds: float = 0.01,
    ) -> None:
        self.scope = scope
        self.agent_limit = agent_limit
        self.auth_failures_per_minute = auth_failures_per_minute
        self.windows = MovingWindows()
        self.sync = RateSync(self.windows, sync_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(
            scope=settings.rate_limit_scope,
            agent_limit=Limit(
                per_minute=settings.agent_rate_limit_per_minute,
                burst=settings.agent_rate_limit_burst,
            ),
            auth_failures_per_minute=settings.auth_failure_limit_per_minute,
            sync_seconds=settings.rate_limit_sync_seconds,
        )

    def check(self, workspace_id: str, tier: Tier) -> Decision:
        """Count a request of the workspace if its tier admits it."""
        return self._admit(f"ws:{workspace_id}", TIER_LIMITS[tier])

    def check_agent(self, agent_id: UUID | str, count: bool = True) -> Decision:
        """Count a request of the agent if its limit admits it (only ask, with `count` off)."""
        return self._admit(f"agent:{agent_id}", self.agent_limit, count)

    def count_agent(self, agent_id: UUID | str) -> None:
        """Count a request of the agent that is served whatever its limit says."""
        key = f"agent:{agent_id}"
        self.windows.record(key, 1, time.time())
        self.sync.admitted(key)

    def _admit(self, key: str, limit: Limit, count: bool = True) -> Decision:
        verdict = self.windows.admit(key, limit, time.time(), count)
        if verdict.allowed and count:
            self.sync.admitted(key)
        return Decision(allowed=verdict.allowed, headers=_headers(verdict))

    def auth_blocked(self, address: str) -> int | None:
        """Seconds until `address` may try again after too many failed authentications, or
        None when it may try now."""
        if self.auth_failures_per_minute == 0:
            return None
        limit = Limit(per_minute=self.auth_failures_per_minute, burst=self.auth_failures_per_minute)
        frees_at = self.windows.frees_at(f"authfail:{address}", limit, time.time())
        if frees_at is None:
            return None
        return max(1, math.ceil(frees_at - time.time()))

    def auth_failed(self, address: str) -> None:
        if self.auth_failures_per_minute == 0:
            return
        key = f"authfail:{address}"
        self.windows.record(key, 1, time.time())
        self.sync.admitted(key)


def _apply(request: Request, decision: Decision) -> None:
    # Picked up by RateLimitHeaders, so error answers carry the headers too.
    request.scope.setdefault("state", {})[_STATE_KEY] = decision.headers
    if not decision.allowed:
        raise RateLimitExceeded()


def enforce_rate_limit(request: Request, workspace: WorkspaceIdentity) -> None:
    """Seed 004 routes: count a request of `workspace` whatever the scope; raise
    RateLimitExceeded when over its tier's limits."""
    limits: RateLimits = request.app.state.rate_limits
    _apply(request, limits.check(workspace.workspace_id, workspace.tier))


def enforce_workspace_limit(request: Request, workspace: WorkspaceIdentity) -> None:
    """Other dialects' workspace-key routes: counted in the same bucket when the scope is
    `all`."""
    limits: RateLimits = request.app.state.rate_limits
    if limits.scope == "all":
        _apply(request, limits.check(workspace.workspace_id, workspace.tier))


def enforce_agent_limit(request: Request, agent_id: UUID | str, count: bool = True) -> None:
    """Agent-credential routes: the agent's own bucket when the scope is `all`. With `count`
    off the request is refused when over the limit but not counted (the caller counts it with
    `count_agent_request` once the credential proved good)."""
    limits: RateLimits = request.app.state.rate_limits
    if limits.scope == "all":
        _apply(request, limits.check_agent(agent_id, count))


def count_agent_request(request: Request, agent_id: UUID | str) -> None:
    """An agent request already served (its effect happened): counted, never refused."""
    limits: RateLimits = request.app.state.rate_limits
    if limits.scope == "all":
        limits.count_agent(agent_id)


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


def install_rate_limits(app: FastAPI, settings: Settings | None = None) -> None:
    app.state.rate_limits = RateLimits.from_settings(settings) if settings else RateLimits()
    app.add_middleware(RateLimitHeaders)

    @app.exception_handler(RateLimitExceeded)
    async def on_rate_limited(request: Request, _: RateLimitExceeded) -> JSONResponse:
        # Device routes answer in their dialect's shape like every other error of theirs.
        body = error_body(request.url.path, TOO_MANY, "rate_limited")
        return JSONResponse(body, status_code=429)
