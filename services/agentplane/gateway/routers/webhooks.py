"""Lifecycle webhooks (operator endpoints of DESIGN §1), workspace key in `x-api-key`.

`POST /v1/webhooks` answers 201 with the signing secret (`whsec_…`), shown in that answer
only (and to a retry with the same Idempotency-Key); lists never hold it. Receivers verify
each delivery as Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
`events` empty or left out subscribes to every event. `DELETE` of a deleted webhook answers
200 again; its delivery history stays readable.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from agentplane.contracts.http.operator import WebhookBody
from agentplane.contracts.subjects import Webhooks
from agentplane.contracts.webhooks import (
    PAGE_DEFAULT,
    PAGE_MAX,
    WEBHOOK_EVENTS,
    CreateWebhook,
    DeleteWebhook,
    DeliveryPage,
    DeliveryView,
    ListDeliveries,
    ListWebhooks,
    WebhookCreated,
    WebhookPage,
    WebhookView,
)
from agentplane.gateway.auth import Bus, Workspace
from agentplane.gateway.formats import iso_ms
from agentplane.gateway.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotency

router = APIRouter(tags=["webhooks"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request (the field is named)"},
    401: {"description": "Missing or invalid API key"},
    503: {"description": "A service is unavailable; try again"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "Webhook not found in this workspace"}
}
CREATE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    400: {
        "description": (
            "Invalid url (not http(s), credentials in it, or a private, loopback or "
            f"link-local target) or unknown events (known: {', '.join(WEBHOOK_EVENTS)})"
        )
    },
    409: {
        "description": "The workspace has its maximum of webhooks, or the Idempotency-Key "
        "was used for another request"
    },
}
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX)]
Cursor = Annotated[str | None, Query(max_length=300)]


def webhook_json(view: WebhookView, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": view.webhook_id,
        "url": view.url,
        "events": view.events,
        "description": view.description,
        "createdAt": iso_ms(view.created_at),
    }
    if secret is not None:
        body["secret"] = secret
    return body


def delivery_json(view: DeliveryView) -> dict[str, Any]:
    last = view.attempts[-1] if view.attempts else None
    return {
        "id": view.delivery_id,
        "event": view.event,
        "agentId": str(view.agent_id),
        "status": view.status.value,
        "attempt": len(view.attempts),
        "statusCode": last.status_code if last else None,
        "createdAt": iso_ms(view.created_at),
        "nextAttemptAt": iso_ms(view.next_attempt_at),
        "deliveredAt": iso_ms(view.finished_at) if view.status.value == "succeeded" else None,
        "finishedAt": iso_ms(view.finished_at),
        "attempts": [
            {
                "attempt": a.attempt,
                "at": iso_ms(a.at),
                "statusCode": a.status_code,
                "error": a.error,
            }
            for a in view.attempts
        ],
        "payload": view.payload,
    }


@router.post("/v1/webhooks", status_code=201, responses={**CREATE_ERRORS, **IDEMPOTENCY_RESPONSES})
async def create_webhook(
    body: WebhookBody, ws: Workspace, bus: Bus, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Subscribe a URL to lifecycle events; the signing secret is in this answer only."""
    cmd = CreateWebhook(
        workspace_id=ws.workspace_id,
        url=body.url,
        events=body.events,
        description=body.description,
        idempotency=idempotency(idempotency_key, ws.workspace_id, "webhooks.create", body),
    )
    created = WebhookCreated.model_validate(await bus.request(Webhooks.CREATE, cmd))
    return webhook_json(created.webhook, created.secret)


@router.get("/v1/webhooks", responses=ERRORS)
async def list_webhooks(
    ws: Workspace, bus: Bus, limit: Limit = PAGE_DEFAULT, cursor: Cursor = None
) -> dict[str, Any]:
    """The workspace's webhooks, oldest first (never their secrets)."""
    query = ListWebhooks(workspace_id=ws.workspace_id, limit=limit, cursor=cursor)
    page = WebhookPage.model_validate(await bus.request(Webhooks.LIST, query))
    return {"webhooks": [webhook_json(w) for w in page.webhooks], "nextCursor": page.next_cursor}


@router.delete("/v1/webhooks/{webhook_id}", responses={**ERRORS, **NOT_FOUND})
async def delete_webhook(webhook_id: str, ws: Workspace, bus: Bus) -> dict[str, Any]:
    """Stop deliveries: pending ones are cancelled."""
    cmd = DeleteWebhook(workspace_id=ws.workspace_id, webhook_id=webhook_id[:100])
    await bus.request(Webhooks.DELETE, cmd)
    return {"success": True}


@router.get("/v1/webhooks/{webhook_id}/deliveries", responses={**ERRORS, **NOT_FOUND})
async def list_deliveries(
    webhook_id: str, ws: Workspace, bus: Bus, limit: Limit = PAGE_DEFAULT, cursor: Cursor = None
) -> dict[str, Any]:
    """The webhook's deliveries, newest first: status, every attempt with its status code or
    error, and when the next retry is due."""
    query = ListDeliveries(
        workspace_id=ws.workspace_id, webhook_id=webhook_id[:100], limit=limit, cursor=cursor
    )
    page = DeliveryPage.model_validate(await bus.request(Webhooks.DELIVERIES, query))
    return {
        "deliveries": [delivery_json(d) for d in page.deliveries],
        "nextCursor": page.next_cursor,
    }
