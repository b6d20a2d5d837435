"""The webhooks service's domain: subscriptions and deliveries (pure, no I/O)."""

from agentplane.webhooks.domain.delivery import (
    Delivery,
    DeliveryFinished,
    delivery_uuid,
    public_delivery_id,
    retry_delay,
)
from agentplane.webhooks.domain.subscription import (
    Subscription,
    idempotent_webhook_uuid,
    public_webhook_id,
    subscribed_to,
    webhook_uuid,
)

__all__ = [
    "Delivery",
    "DeliveryFinished",
    "Subscription",
    "delivery_uuid",
    "idempotent_webhook_uuid",
    "public_delivery_id",
    "public_webhook_id",
    "retry_delay",
    "subscribed_to",
    "webhook_uuid",
]
