"""The webhooks service's recorded events → their public, typed integration events.

The only module that knows both: domain classes on the left, contracts on the right. A new
recorded event needs a row here (tests/contracts checks every one has).
"""

from __future__ import annotations

from agentplane.contracts.events import webhooks as public
from agentplane.eventstore.integration import Translator
from agentplane.webhooks.domain.delivery import Delivery
from agentplane.webhooks.domain.subscription import Subscription

TRANSLATOR = Translator(
    {
        Delivery.Attempted: public.DeliveryAttempted,
        Delivery.Cancelled: public.DeliveryCancelled,
        Delivery.Failed: public.DeliveryFailed,
        Delivery.Scheduled: public.DeliveryScheduled,
        Delivery.Succeeded: public.DeliverySucceeded,
        Subscription.Deleted: public.WebhookDeleted,
        Subscription.Subscribed: public.WebhookSubscribed,
    }
)
