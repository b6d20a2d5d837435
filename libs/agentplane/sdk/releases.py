"""Signed agent releases (operator side of seed 003's update check)."""

from __future__ import annotations

from agentplane.contracts.http.operator import PublishedRelease, ReleaseBody
from agentplane.sdk.calls import Call, model
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced


class AsyncReleases(Resource):
    """`/v1/agent-releases` (workspace key)."""

    async def publish(
        self, version: str, url: str, sha256: str, *, idempotency_key: str | None = None
    ) -> PublishedRelease:
        """Publish a release; the server signs it with its Ed25519 key."""
        return await self._t.send(
            Call(
                "POST",
                "/v1/agent-releases",
                model(PublishedRelease),
                body=ReleaseBody(version=version, url=url, sha256=sha256),
                idempotency_key=idempotency_key,
            )
        )


class Releases(Resource):
    """Sync twin of `AsyncReleases`."""

    publish = synced(AsyncReleases.publish)
