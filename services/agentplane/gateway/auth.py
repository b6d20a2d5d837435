"""Authentication of operators (admin token) and workspaces (API keys)."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated

from fastapi import Depends, Request

from agentplane.bus.requests import BusClient
from agentplane.contracts.errors import unauthorized
from agentplane.contracts.subjects import Registry
from agentplane.contracts.workspaces import AuthenticateWorkspace, WorkspaceIdentity
from agentplane.gateway.openapi import declares
from agentplane.gateway.rate_limits import enforce_workspace_limit

# Resolved keys are remembered briefly so most requests need no extra round trip.
KEY_CACHE_SECONDS = 30.0


class WorkspaceKeys:
    """Resolves workspace API keys through the registry, with a short-lived cache."""

    def __init__(self, bus: BusClient) -> None:
        self.bus = bus
        self._cache: dict[bytes, tuple[float, WorkspaceIdentity]] = {}

    def cached(self, api_key: str) -> WorkspaceIdentity | None:
        """The key's workspace if resolved within KEY_CACHE_SECONDS, else None."""
        hit = self._cache.get(_digest(api_key))
        return hit[1] if hit and hit[0] > time.monotonic() else None

    async def resolve(self, api_key: str) -> WorkspaceIdentity:
        identity = self.cached(api_key)
        if identity is not None:
            return identity
        asked_at = time.monotonic()
        data = await self.bus.request(
            Registry.WORKSPACE_AUTHENTICATE, AuthenticateWorkspace(api_key=api_key)
        )
        identity = WorkspaceIdentity.model_validate(data)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[_digest(api_key)] = (asked_at + KEY_CACHE_SECONDS, identity)
        return identity


def _digest(api_key: str) -> bytes:
    # Keys are remembered by their hash: the cache holds no secret.
    return hashlib.sha256(api_key.encode()).digest()


def app_bus(request: Request) -> BusClient:
    """The gateway's bus client, for code that has the request at hand."""
    return request.app.state.bus


# Async on purpose: FastAPI runs a plain `def` dependency in a thread pool on every request.
async def bus_of(request: Request) -> BusClient:
    return app_bus(request)


@declares(
    {
        401: "Missing or invalid API key",
        429: "The workspace's tier limit is spent; X-RateLimit-Reset and Retry-After say when",
    },
    headers=("x-api-key",),
)
async def workspace_from_api_key(request: Request) -> WorkspaceIdentity:
    x_api_key = request.headers.get("x-api-key")
    if not x_api_key:
        raise unauthorized("Missing API key (x-api-key header)")
    workspace: WorkspaceIdentity = await request.app.state.workspace_keys.resolve(x_api_key)
    # The same bucket as the workspace's seed 004 requests (gateway/rate_limits.py).
    enforce_workspace_limit(request, workspace)
    return workspace


@declares({401: "Missing or invalid admin token"}, headers=("authorization",))
async def require_admin(request: Request) -> None:
    authorization = request.headers.get("authorization")
    expected: str = request.app.state.admin_token
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise unauthorized("Missing or invalid admin token")


Bus = Annotated[BusClient, Depends(bus_of)]
Workspace = Annotated[WorkspaceIdentity, Depends(workspace_from_api_key)]
Admin = Annotated[None, Depends(require_admin)]
