"""Operator endpoints: workspaces (admin token) and one-time enrollment/registration tokens."""

from __future__ import annotations

from agentplane.contracts.agents import EnrollmentKind
from agentplane.contracts.http.operator import EnrollmentToken, EnrollmentTokenBody, NewWorkspace
from agentplane.contracts.workspaces import CreateWorkspace, Tier
from agentplane.sdk.calls import Auth, Call, model
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced


class AsyncWorkspaces(Resource):
    """`/v1/admin/workspaces` (the client's `admin_token`)."""

    async def create(
        self, name: str, tier: Tier | str = Tier.FREE, *, idempotency_key: str | None = None
    ) -> NewWorkspace:
        """Create a workspace; its API key is in the answer and nowhere else."""
        body = CreateWorkspace(name=name, tier=Tier(tier))
        return await self._t.send(
            Call(
                "POST",
                "/v1/admin/workspaces",
                model(NewWorkspace),
                body=body,
                auth=Auth.ADMIN,
                idempotency_key=idempotency_key,
            )
        )


class Workspaces(Resource):
    """Sync twin of `AsyncWorkspaces`."""

    create = synced(AsyncWorkspaces.create)


class AsyncEnrollmentTokens(Resource):
    """`/v1/enrollment-tokens` (workspace key)."""

    async def create(
        self,
        kind: EnrollmentKind | str = EnrollmentKind.ENROLLMENT,
        ttl_seconds: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> EnrollmentToken:
        """A single-use token: `registration` (seed 002) or `enrollment` (seed 003)."""
        fields: dict[str, object] = {"kind": EnrollmentKind(kind)}
        if ttl_seconds is not None:
            fields["ttlSeconds"] = ttl_seconds
        return await self._t.send(
            Call(
                "POST",
                "/v1/enrollment-tokens",
                model(EnrollmentToken),
                body=EnrollmentTokenBody.model_validate(fields),
                idempotency_key=idempotency_key,
            )
        )


class EnrollmentTokens(Resource):
    """Sync twin of `AsyncEnrollmentTokens`."""

    create = synced(AsyncEnrollmentTokens.create)
