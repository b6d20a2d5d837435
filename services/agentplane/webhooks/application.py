"""Webhook use cases on the event store: subscriptions, fan-out of transitions, attempts.

Synchronous (eventsourcing); handlers and loops call them in threads. After every save the
view is caught up, so an answer or the scheduler reads its own writes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from agentplane.contracts.errors import conflict, invalid, not_found
from agentplane.contracts.idempotency import IDEMPOTENCY_WINDOW_HOURS
from agentplane.contracts.lifecycle_events import AgentTransitioned
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
    webhook_event_of,
    webhook_payload,
)
from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.views import ViewStore
from agentplane.settings import Settings
from agentplane.webhooks.domain import (
    Delivery,
    DeliveryFinished,
    Subscription,
    idempotent_webhook_uuid,
    retry_delay,
    subscribed_to,
    webhook_uuid,
)
from agentplane.webhooks.pages import page
from agentplane.webhooks.projections import DELIVERY, PENDING, WEBHOOK, WebhooksProjection
from agentplane.webhooks.secret_box import SecretBox, new_signing_secret

WEBHOOK_NOT_FOUND = "Webhook not found"
Doc = dict[str, Any]


class WebhooksStore(ServiceApplication):
    """The webhooks service's event store."""

    name = "webhooks"


@dataclass(frozen=True)
class Pending:
    """What the scheduler needs of a pending delivery."""

    delivery_id: str
    webhook_id: str
    agent_id: str
    sequence: int
    due: datetime

    @classmethod
    def of(cls, doc: Doc) -> Pending:
        return cls(
            doc["delivery_id"],
            doc["webhook_id"],
            doc["agent_id"],
            int(doc["sequence"]),
            datetime.fromisoformat(doc["next_attempt_at"]),
        )


@dataclass(frozen=True)
class Target:
    """Where and how to send one delivery."""

    url: str
    secret: str
    payload: Doc


def _view(doc: Doc) -> WebhookView:
    return WebhookView.model_validate(doc)


def _uuid(public_id: str) -> UUID:
    uuid = webhook_uuid(public_id)
    if uuid is None:
        raise not_found(WEBHOOK_NOT_FOUND)
    return uuid


class Webhooks:
    """Subscriptions of every workspace and the deliveries made to them."""

    def __init__(
        self,
        store: WebhooksStore,
        views: ViewStore,
        box: SecretBox,
        settings: Settings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.views = views
        self.box = box
        self.settings = settings
        self.clock = clock
        self.projector = ProjectionRunner(store, views, WebhooksProjection())

    # -- subscriptions ---------------------------------------------------------------------

    def create(self, cmd: CreateWebhook) -> WebhookCreated:
        """Subscribe (the URL was checked by the caller); the secret is in this answer only,
        and again in a retry with the same Idempotency-Key within its window."""
        unknown = sorted({e for e in cmd.events if e not in WEBHOOK_EVENTS})
        if unknown:
            raise invalid(
                f"Unknown events: {', '.join(unknown)}; one of {', '.join(WEBHOOK_EVENTS)}",
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
            subscription: Subscription = self.store.repository.get(_uuid(webhook_id))
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
        cancelled = [d for d in pending if self.cancel(d, "webhook deleted")]
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

    # -- fan-out and attempts ------------------------------------------------------------------

    def schedule(self, transitions: Iterable[tuple[AgentTransitioned, int]]) -> list[Pending]:
        """One delivery per transition and subscription that wants it (recorded once, however
        often a transition arrives); the new pending deliveries."""
        deliveries: list[Delivery] = []
        for transition, sequence in transitions:
            name = webhook_event_of(transition)
            if name is None:
                continue
            for doc in self._subscribed(str(transition.workspace_id), name, transition.at):
                deliveries.append(
                    Delivery.schedule(
                        _uuid(doc["webhook_id"]),
                        doc["workspace_id"],
                        doc["webhook_id"],
                        str(transition.agent_id),
                        name,
                        transition.transition_id,
                        sequence,
                        webhook_payload(name, transition),
                    )
                )
        if not deliveries:
            return []
        try:
            self.store.save(*deliveries)
            saved = deliveries
        except IntegrityError:
            # Some were recorded by an earlier delivery of the same transitions.
            saved = []
            for delivery in deliveries:
                try:
                    self.store.save(delivery)
                    saved.append(delivery)
                except IntegrityError:
                    pass
        self.projector.catch_up()
        with self.views.read() as tx:
            docs = [tx.get(PENDING, d.delivery_id) for d in saved]
        return [Pending.of(doc) for doc in docs if doc is not None]

    def _subscribed(self, workspace_id: str, name: str, at: datetime) -> list[Doc]:
        with self.views.read() as tx:
            docs = tx.list(WEBHOOK, workspace_id)
        return [
            d
            for d in docs
            if subscribed_to(
                d["events"],
                datetime.fromisoformat(d["created_at"]),
                datetime.fromisoformat(d["deleted_at"]) if d["deleted_at"] else None,
                name,
                at,
            )
        ]

    def pending(self) -> list[Pending]:
        """Every delivery still to make (the scheduler's work after a start)."""
        self.projector.catch_up()
        with self.views.read() as tx:
            return [Pending.of(doc) for doc in tx.list(PENDING)]

    def target(self, delivery_id: str, webhook_id: str) -> Target | None:
        """Where to send a pending delivery; None when it is no longer pending."""
        with self.views.read() as tx:
            doc = tx.get(DELIVERY, delivery_id)
        if doc is None or doc["status"] != "pending":
            return None
        subscription: Subscription = self.store.repository.get(_uuid(webhook_id))
        if subscription.deleted:
            self.cancel(delivery_id, "webhook deleted")
            self.projector.catch_up()
            return None
        return Target(
            subscription.url, self.box.open(subscription.secret_ciphertext), doc["payload"]
        )

    def record(
        self, delivery_id: str, status_code: int | None, error: str | None
    ) -> Pending | None:
        """The outcome of an attempt; the delivery if it stays pending (with its next due)."""
        delivery: Delivery = self.store.repository.get(UUID(hex=delivery_id[len("msg_") :]))
        retry_in = retry_delay(
            delivery.attempts + 1,
            self.settings.webhooks_retry_base_seconds,
            self.settings.webhooks_retry_max_seconds,
            random.uniform(0.5, 1.0),
        )
        try:
            delivery.record_attempt(
                self.clock(),
                status_code,
                error,
                retry_in,
                self.settings.webhooks_retry_window_seconds,
            )
        except DeliveryFinished:
            return None
        self.store.save(delivery)
        self.projector.catch_up()
        with self.views.read() as tx:
            doc = tx.get(PENDING, delivery_id)
        return Pending.of(doc) if doc is not None else None

    def cancel(self, delivery_id: str, reason: str) -> bool:
        delivery: Delivery = self.store.repository.get(UUID(hex=delivery_id[len("msg_") :]))
        try:
            delivery.cancel(self.clock(), reason)
        except DeliveryFinished:
            return False
        try:
            self.store.save(delivery)
        except IntegrityError:
            return False  # an attempt was recorded at the same moment; it will find it deleted
        return True
