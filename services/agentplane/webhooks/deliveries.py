"""Delivery use cases: the fan-out of transitions into deliveries, and attempt outcomes.

Synchronous (eventsourcing); the fan-out consumer and the scheduler call them in threads.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from agentplane.contracts.errors import not_found
from agentplane.contracts.events.lifecycle import AgentTransitioned
from agentplane.contracts.webhooks import (
    DELIVERY_ID_PREFIX,
    webhook_event_of,
    webhook_payload,
    workspace_of,
)
from agentplane.eventstore.group_commit import GroupCommitter
from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.views import ViewStore
from agentplane.settings import WebhooksSettings
from agentplane.webhooks.domain import (
    Delivery,
    DeliveryFinished,
    Subscription,
    delivery_uuid,
    public_delivery_id,
    retry_delay,
    subscribed_to,
    webhook_uuid,
)
from agentplane.webhooks.projections import DELIVERY, PENDING, WEBHOOK
from agentplane.webhooks.secret_box import SecretBox

WEBHOOK_NOT_FOUND = "Webhook not found"
Doc = dict[str, Any]


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


def webhook_uuid_of(public_id: str) -> UUID:
    uuid = webhook_uuid(public_id)
    if uuid is None:
        raise not_found(WEBHOOK_NOT_FOUND)
    return uuid


class _Spec(NamedTuple):
    """The arguments of `Delivery.schedule` for one transition and subscription."""

    subscription: UUID
    workspace_id: str
    webhook_id: str
    agent_id: str
    event_name: str
    transition_id: str
    sequence: int
    payload: dict[str, Any]

    @property
    def delivery_id(self) -> str:
        return public_delivery_id(delivery_uuid(self.subscription, self.transition_id))


def _delivery_uuid(delivery_id: str) -> UUID:
    return UUID(hex=delivery_id[len(DELIVERY_ID_PREFIX) :])


class Deliveries:
    """Deliveries of every subscription: recorded by the fan-out, advanced by the scheduler."""

    def __init__(
        self,
        store: Application[Any],
        views: ViewStore,
        box: SecretBox,
        settings: WebhooksSettings,
        projector: ProjectionRunner,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.views = views
        self.box = box
        self.settings = settings
        self.projector = projector
        self.clock = clock
        # Attempts finishing at the same time share one transaction (and one view catch-up).
        self.committer = GroupCommitter(store, after_commit=projector.catch_up)

    def schedule(self, transitions: Iterable[tuple[AgentTransitioned, int]]) -> list[Pending]:
        """One delivery per transition and subscription that wants it (recorded once, however
        often a transition arrives); the new pending deliveries."""
        specs: list[_Spec] = []
        for transition, sequence in transitions:
            name = webhook_event_of(transition)
            if name is None:
                continue
            for doc in self._subscribed(workspace_of(transition), name, transition.at):
                specs.append(
                    _Spec(
                        webhook_uuid_of(doc["webhook_id"]),
                        doc["workspace_id"],
                        doc["webhook_id"],
                        str(transition.agent_id),
                        name,
                        transition.transition_id,
                        sequence,
                        webhook_payload(name, transition),
                    )
                )
        with self.views.read() as tx:
            # Recorded by an earlier delivery of the same transitions: nothing to do.
            fresh = [s for s in specs if tx.get(DELIVERY, s.delivery_id) is None]
        if not fresh:
            return []
        try:
            self.store.save(*(Delivery.schedule(*s) for s in fresh))
            saved = fresh
        except IntegrityError:
            # Another replica recorded some of them meanwhile: save one by one (a failed save
            # consumed the aggregates' events, so each is built again).
            saved = []
            for spec in fresh:
                try:
                    self.store.save(Delivery.schedule(*spec))
                    saved.append(spec)
                except IntegrityError:
                    pass
        self.projector.catch_up()
        with self.views.read() as tx:
            docs = [tx.get(PENDING, s.delivery_id) for s in saved]
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
        subscription: Subscription = self.store.repository.get(webhook_uuid_of(webhook_id))
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
        delivery: Delivery = self.store.repository.get(_delivery_uuid(delivery_id))
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
        self.committer.save(delivery)
        with self.views.read() as tx:
            doc = tx.get(PENDING, delivery_id)
        return Pending.of(doc) if doc is not None else None

    def cancel(self, delivery_id: str, reason: str) -> bool:
        delivery: Delivery = self.store.repository.get(_delivery_uuid(delivery_id))
        try:
            delivery.cancel(self.clock(), reason)
        except DeliveryFinished:
            return False
        try:
            self.store.save(delivery)
        except IntegrityError:
            return False  # an attempt was recorded at the same moment; it will find it deleted
        return True
