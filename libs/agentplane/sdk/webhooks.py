"""Lifecycle webhooks (operator endpoints of DESIGN §1), signed as Standard Webhooks."""

from __future__ import annotations

from collections.abc import Sequence

from agentplane.contracts.http.base import Success
from agentplane.contracts.http.operator import (
    Webhook,
    WebhookBody,
    WebhookDeliveries,
    WebhookList,
)
from agentplane.sdk.calls import Call, model, path
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced


class AsyncWebhooks(Resource):
    """`/v1/webhooks` (workspace key)."""

    async def create(
        self,
        url: str,
        events: Sequence[str] = (),
        description: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Webhook:
        """Subscribe a URL to lifecycle events; the signing secret is in this answer only."""
        body = WebhookBody(url=url, events=list(events), description=description)
        return await self._t.send(
            Call("POST", "/v1/webhooks", model(Webhook), body=body, idempotency_key=idempotency_key)
        )

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> WebhookList:
        """One page of the workspace's webhooks."""
        return await self._t.send(
            Call(
                "GET", "/v1/webhooks", model(WebhookList), params={"limit": limit, "cursor": cursor}
            )
        )

    async def delete(self, webhook_id: str) -> Success:
        """Stop deliveries to a webhook."""
        return await self._t.send(
            Call("DELETE", path("/v1/webhooks/{}", webhook_id), model(Success))
        )

    async def deliveries(
        self, webhook_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> WebhookDeliveries:
        """One page of a webhook's delivery attempts."""
        return await self._t.send(
            Call(
                "GET",
                path("/v1/webhooks/{}/deliveries", webhook_id),
                model(WebhookDeliveries),
                params={"limit": limit, "cursor": cursor},
            )
        )


class Webhooks(Resource):
    """Sync twin of `AsyncWebhooks`."""

    create = synced(AsyncWebhooks.create)
    list = synced(AsyncWebhooks.list)
    delete = synced(AsyncWebhooks.delete)
    deliveries = synced(AsyncWebhooks.deliveries)
