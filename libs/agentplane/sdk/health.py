"""`GET /health`: is the gateway ready (NATS and every service answering)?"""

from __future__ import annotations

from agentplane.contracts.http.health import GatewayHealth
from agentplane.sdk.calls import Auth, Call, model
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced


class AsyncHealth(Resource):
    """The gateway's readiness."""

    async def check(self) -> GatewayHealth:
        """200: everything answers. Not ready raises `Unavailable` (details: what is down)."""
        return await self._t.send(Call("GET", "/health", model(GatewayHealth), auth=Auth.NONE))


class Health(Resource):
    """Sync twin of `AsyncHealth`."""

    check = synced(AsyncHealth.check)
