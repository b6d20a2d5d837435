"""Subscription use cases on the event store (deliveries.py holds the delivery ones).

Synchronous (eventsourcing); handlers and loops call them in threads. After every save the
view is caught up, so an answer or the scheduler reads its own writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from agentplane.contracts.errors import conflict, invalid, not_found
from agentplane.contracts.idempotency import IDEMPOTENCY_WINDOW_HOURS
from agentplane.contracts.webhooks import (
    MAX_WEBHOOKS_PER_WORKSPACE,
    WEBHOOK_EVENTS,
    CreateWebhook,
    DeleteWebhook,
    DeliveryPage,
    DeliveryView,
    ListDeliveries,
    ListWebhooks,
    WebhookCreated,
    WebhookDeleted,
    WebhookPage,
    WebhookView,
)
from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.views import ViewStore
from agentplane.settings import WebhooksSettings
from agentplane.webhooks.deliveries import WEBHOOK_NOT_FOUND, Deliveries, webhook_uuid_of
from agentplane.webhooks.domain import (
    Subscription,
    idempotent_webhook_uuid,
)
from agentplane.webhooks.pages import page
from agentplane.webhooks.projections import DELIVERY, PENDING, WEBHOOK, WebhooksProjection
from agentplane.webhooks.secret_box import SecretBox, new_signing_secret
from agentplane.webhooks.translate import TRANSLATOR

Doc = dict[str, Any]


class WebhooksStore(ServiceApplication):
    """The webhooks service's event store."""

    name = "webhooks"
    translator = TRANSLATOR


def _view(doc: Doc) -> WebhookView:
    return WebhookView.model_validate(doc)


class Webhooks:
    """Subscriptions of every workspace and the deliveries made to them."""

    def __init__(
        self,
        store: WebhooksStore,
        views: ViewStore,
        box: SecretBox,
        settings: WebhooksSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.views = views
        self.box = box
        self.settings = settings
        self.clock = clock
        self.projector = ProjectionRunner(store, views, WebhooksProjection())
        self.sending = Deliveries(store, views, box, settings, self.projector, clock)

    # -- subscriptions ---------------------------------------------------------------------

    def create(self, cmd: CreateWebhook) -> WebhookCreated:
        """Subscribe (the URL was checked by the caller); the secret is in this answer only,
        and again in a retry with the same Idempotency-Key within its window."""
        unknown = sorted({e for e in cmd.events if e not in WEBHOOK_EVENTS})
        if unknown:
            raise invalid(
                # Echoes at most a few short names of what was sent.
                f"Unknown events: {', '.join(e[:60] for e in unknown[:5])}; "
                f"one of {', '.join(WEBHOOK_EVENTS)}",
                field="events",
            )
        events = [e for e in WEBHOOK_EVENTS if e in cmd.events] if cmd.events else []
        events = events or list(WEBHOOK_EVENTS)
        key = cmd.idempotency
        uuid = idempotent_webhook_uuid(key.scope, key.key) if key else uuid4()
        if key is not None:
            repeat = self._repeat(uuid, key.fingerprint)
            if repeat is not None:
                return repeat
        if len(self._active(cmd.workspace_id)) >= MAX_WEBHOOKS_PER_WORKSPACE:
            raise conflict(
                f"A workspace may have at most {MAX_WEBHOOKS_PER_WORKSPACE} webhooks",
                field="url",
            )
        secret = new_signing_secret()
        subscription = Subscription.subscribe(
            uuid,
            cmd.workspace_id,
            cmd.url,
            events,
            cmd.description,
            self.box.seal(secret),
            key.fingerprint if key else None,
        )
        try:
            self.store.save(subscription)
        except IntegrityError:
            assert key is not None  # only derived ids can collide
            repeat = self._repeat(uuid, key.fingerprint)
            assert repeat is not None
            return repeat
        self.projector.catch_up()
        return WebhookCreated(webhook=self._doc_view(subscription.webhook_id), secret=secret)

    def _repeat(self, uuid: UUID, fingerprint: str) -> WebhookCreated | None:
        """The first answer to an Idempotency-Key, or None when the key is new."""
        try:
            first: Subscription = self.store.repository.get(uuid)
        except AggregateNotFoundError:
            return None
        window = timedelta(hours=IDEMPOTENCY_WINDOW_HOURS)
        if first.idempotency_fingerprint != fingerprint or self.clock() > first.created_on + window:
            raise conflict(
                "Idempotency-Key was already used for another request, or has expired",
                field="Idempotency-Key",
            )
        self.projector.catch_up()
        return WebhookCreated(
            webhook=self._doc_view(first.webhook_id), secret=self.box.open(first.secret_ciphertext)
        )

    def _doc_view(self, webhook_id: str) -> WebhookView:
        with self.views.read() as tx:
            doc = tx.get(WEBHOOK, webhook_id)
        assert doc is not None
        return _view(doc)

    def _active(self, workspace_id: str) -> list[Doc]:
        with self.views.read() as tx:
            docs = tx.list(WEBHOOK, workspace_id)
        return [d for d in docs if d["deleted_at"] is None]

    def _owned(self, workspace_id: str, webhook_id: str) -> Subscription:
        try:
            subscription: Subscription = self.store.repository.get(webhook_uuid_of(webhook_id))
        except AggregateNotFoundError:
            raise not_found(WEBHOOK_NOT_FOUND) from None
        if subscription.workspace_id != workspace_id:
            raise not_found(WEBHOOK_NOT_FOUND)
        return subscription

    def list(self, query: ListWebhooks) -> WebhookPage:
        docs, cursor = page(
            self._active(query.workspace_id),
            lambda d: (d["created_at"], d["webhook_id"]),
            query.limit,
            query.cursor,
            newest_first=False,
        )
        return WebhookPage(webhooks=[_view(d) for d in docs], next_cursor=cursor)

    def delete(self, cmd: DeleteWebhook) -> tuple[WebhookDeleted, list[str]]:
        """Delete (again: no change) and cancel what was still pending; the cancelled ids."""
        subscription = self._owned(cmd.workspace_id, cmd.webhook_id)
        if not subscription.deleted:
            subscription.delete(self.clock())
            self.store.save(subscription)
        with self.views.read() as tx:
            pending = [d["delivery_id"] for d in tx.list(PENDING, subscription.webhook_id)]
        cancelled = [d for d in pending if self.sending.cancel(d, "webhook deleted")]
        self.projector.catch_up()
        return WebhookDeleted(webhook_id=subscription.webhook_id), cancelled

    def deliveries(self, query: ListDeliveries) -> DeliveryPage:
        self._owned(query.workspace_id, query.webhook_id)
        with self.views.read() as tx:
            docs = tx.list(DELIVERY, query.webhook_id)
        chunk, cursor = page(
            docs,
            lambda d: (d["created_at"], d["delivery_id"]),
            query.limit,
            query.cursor,
            newest_first=True,
        )
        return DeliveryPage(
            deliveries=[DeliveryView.model_validate(d) for d in chunk], next_cursor=cursor
        )
