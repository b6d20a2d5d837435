"""Lifecycle webhooks: subscriptions, deliveries and the payload receivers get (seed 004).

The webhooks service turns every `AgentTransitioned` (contracts/events/lifecycle.py) into one
delivery per matching subscription of the agent's workspace, signed as Standard Webhooks
(`webhook-id`, `webhook-timestamp`, `webhook-signature`). Payload shape, as the document shows:

    {"event": "agent.activated", "agent_uuid": "…", "agent_name": "my-agent",
     "timestamp": "2025-11-13T08:00:45Z",
     "data": {"from_state": "PROVISIONED", "to_state": "ACTIVE", …}}

`data` also carries `event_type`, `triggered_by` and `reason` of the transition.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.idempotency import Idempotency

if TYPE_CHECKING:  # annotations only: the webhooks domain names these constants, not events
    from agentplane.contracts.events.lifecycle import AgentTransitioned

# Subscribable events, in lifecycle order.
AGENT_CREATED = "agent.created"
AGENT_PROVISIONED = "agent.provisioned"
AGENT_ACTIVATED = "agent.activated"
AGENT_DRAINING = "agent.draining"
AGENT_TERMINATED = "agent.terminated"
AGENT_KILLED = "agent.killed"
AGENT_UNHEALTHY = "agent.unhealthy"
AGENT_RECOVERED = "agent.recovered"
WEBHOOK_EVENTS = (
    AGENT_CREATED,
    AGENT_PROVISIONED,
    AGENT_ACTIVATED,
    AGENT_DRAINING,
    AGENT_TERMINATED,
    AGENT_KILLED,
    AGENT_UNHEALTHY,
    AGENT_RECOVERED,
)
# The state a transition leads to names its event; ACTIVE out of UNHEALTHY is a recovery.
_BY_TO_STATE = {
    "NEW": AGENT_CREATED,
    "PROVISIONED": AGENT_PROVISIONED,
    "ACTIVE": AGENT_ACTIVATED,
    "DRAINING": AGENT_DRAINING,
    "TERMINATED": AGENT_TERMINATED,
    "KILLED": AGENT_KILLED,
    "UNHEALTHY": AGENT_UNHEALTHY,
}

WEBHOOK_ID_PREFIX = "wh_"
DELIVERY_ID_PREFIX = "msg_"  # also the `webhook-id` header: the same on every retry
SECRET_PREFIX = "whsec_"  # Standard Webhooks secret: whsec_ + base64 of 32 random bytes
MAX_WEBHOOKS_PER_WORKSPACE = 50
PAGE_DEFAULT = 50
PAGE_MAX = 200


def workspace_of(transition: AgentTransitioned) -> str:
    """The public workspace id (`ws_<hex>`) of a transition (events published before the field
    became a string may carry the bare UUID)."""
    value = str(transition.workspace_id)
    return value if value.startswith("ws_") else f"ws_{UUID(value).hex}"


def webhook_event_of(transition: AgentTransitioned) -> str | None:
    """The webhook event of a transition, or None for one no event names."""
    if transition.to_state == "ACTIVE" and (
        transition.from_state == "UNHEALTHY" or transition.event_type == "RECOVERED"
    ):
        return AGENT_RECOVERED
    return _BY_TO_STATE.get(transition.to_state)


def _iso_seconds(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def webhook_payload(event: str, transition: AgentTransitioned) -> dict[str, Any]:
    """The JSON body a receiver gets for `transition` (the document's shape)."""
    return {
        "event": event,
        "agent_uuid": str(transition.agent_id),
        "agent_name": transition.agent_name,
        "timestamp": _iso_seconds(transition.at),
        "data": {
            "from_state": transition.from_state,
            "to_state": transition.to_state,
            "event_type": transition.event_type,
            "triggered_by": transition.triggered_by.value,
            "reason": transition.reason,
        },
    }


class DeliveryStatus(StrEnum):
    """pending (being tried, or waiting for its retry) → succeeded | failed | cancelled."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # retried for the whole retry window without a 2xx answer
    CANCELLED = "cancelled"  # the webhook was deleted first


class CreateWebhook(BaseModel):
    """Subscribe `url` to `events` (empty: every event) of the workspace's agents."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    url: str = Field(min_length=1, max_length=2048)
    events: list[str] = Field(default_factory=list, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    idempotency: Idempotency | None = None


class WebhookView(BaseModel):
    """A subscription as lists show it: never its secret."""

    model_config = ConfigDict(frozen=True)

    webhook_id: str
    url: str
    events: list[str]
    description: str | None = None
    created_at: datetime


class WebhookCreated(BaseModel):
    """The new subscription and its signing secret, which no other answer holds."""

    model_config = ConfigDict(frozen=True)

    webhook: WebhookView
    secret: str


class ListWebhooks(BaseModel):
    """One page of the workspace's subscriptions, oldest first."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    limit: int = Field(default=PAGE_DEFAULT, ge=1, le=PAGE_MAX)
    cursor: str | None = Field(default=None, max_length=300)


class WebhookPage(BaseModel):
    """Subscriptions and the cursor of the next page (None on the last)."""

    model_config = ConfigDict(frozen=True)

    webhooks: list[WebhookView]
    next_cursor: str | None = None


class DeleteWebhook(BaseModel):
    """Stop deliveries to a subscription; pending ones are cancelled. Repeats change nothing."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    webhook_id: str = Field(max_length=100)


class WebhookDeleted(BaseModel):
    """The subscription is gone from lists."""

    model_config = ConfigDict(frozen=True)

    webhook_id: str


class ListDeliveries(BaseModel):
    """One page of a subscription's deliveries, newest first."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    webhook_id: str = Field(max_length=100)
    limit: int = Field(default=PAGE_DEFAULT, ge=1, le=PAGE_MAX)
    cursor: str | None = Field(default=None, max_length=300)


class DeliveryAttempt(BaseModel):
    """One HTTP attempt: the receiver's status code, or why there was none."""

    model_config = ConfigDict(frozen=True)

    attempt: int
    at: datetime
    status_code: int | None = None
    error: str | None = None


class DeliveryView(BaseModel):
    """One event on its way to one subscription."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    webhook_id: str
    event: str
    agent_id: UUID
    status: DeliveryStatus
    created_at: datetime
    next_attempt_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: list[DeliveryAttempt] = Field(default_factory=list)
    payload: dict[str, Any]


class DeliveryPage(BaseModel):
    """Deliveries and the cursor of the next page (None on the last)."""

    model_config = ConfigDict(frozen=True)

    deliveries: list[DeliveryView]
    next_cursor: str | None = None
