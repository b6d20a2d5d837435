"""Server-initiated rotation of a device agent's API key (seed 003), as events of the Agent.

The states: no rotation → requested (old key works) → delivered (the old key works until a new
key is first used or `grace` has passed since the first delivery) → completed (the new key is
the agent's key; `Agent.TokenRotated` records the switch like every other rotation).

No plaintext key is ever stored, not even encrypted: the new key is generated at the moment it
is delivered in a heartbeat response, and only its keyed hash is recorded. If that response is
lost, the next heartbeat made with the old key (inside its grace) delivers another fresh key;
every delivered key stays valid until one of them is used, so the agent cannot lock itself
out by missing a response. The number of deliveries per rotation is capped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from eventsourcing.utils import register_topic

from agentplane.registry.domain.agent import Agent

MAX_DELIVERIES = 5


@dataclass
class PendingKey:
    """A delivered, not yet used new key: only its keyed hash and public prefix."""

    key_hash: str
    key_prefix: str


@dataclass
class KeyRotation:
    """The rotation in progress on an agent."""

    requested_at: datetime
    first_delivered_at: datetime | None = None
    pending: list[PendingKey] = field(default_factory=list)

    def old_key_expired(self, now: datetime, grace: timedelta) -> bool:
        return self.first_delivered_at is not None and now >= self.first_delivered_at + grace

    def delivery_due(self, now: datetime, grace: timedelta) -> bool:
        return len(self.pending) < MAX_DELIVERIES and not self.old_key_expired(now, grace)


class ApiKeyRotationRequested(Agent.Event):
    """An operator asked for a new API key; the agent gets it with its next heartbeat."""

    TOPIC = "agent.ApiKeyRotationRequested"
    at: datetime

    def apply(self, aggregate: Any) -> None:
        aggregate.key_rotation = KeyRotation(requested_at=self.at)


class ApiKeyDelivered(Agent.Event):
    """A new API key went out in a heartbeat response; only its hash is kept."""

    TOPIC = "agent.ApiKeyDelivered"
    PRIVATE = frozenset({"key_hash"})
    key_hash: str
    key_prefix: str
    at: datetime

    def apply(self, aggregate: Any) -> None:
        rotation: KeyRotation = aggregate.key_rotation
        rotation.pending.append(PendingKey(self.key_hash, self.key_prefix))
        if rotation.first_delivered_at is None:
            rotation.first_delivered_at = self.at


class ApiKeyRotationCompleted(Agent.Event):
    """The agent used its new key: the old one and any other delivered key stop working."""

    TOPIC = "agent.ApiKeyRotationCompleted"
    key_prefix: str

    def apply(self, aggregate: Any) -> None:
        aggregate.key_rotation = None


# Defined outside the Agent class body, so their explicit topics are registered here.
for _event_class in (ApiKeyRotationRequested, ApiKeyDelivered, ApiKeyRotationCompleted):
    register_topic(_event_class.TOPIC, _event_class)


class KeyUse(Enum):
    """What a presented key is for an agent."""

    CURRENT = "current"  # the agent's key (the old one while a rotation is in progress)
    NEW = "new"  # a delivered key used for the first time: completes the rotation
    REJECTED = "rejected"


def rotation_of(agent: Agent) -> KeyRotation | None:
    # Agents created before any rotation event have no attribute at all.
    return getattr(agent, "key_rotation", None)


def check_key(
    agent: Agent, matches: Callable[[str], bool], now: datetime, grace: timedelta
) -> tuple[KeyUse, PendingKey | None]:
    """Classify a presented key; `matches(stored_hash)` compares it in constant time."""
    rotation = rotation_of(agent)
    if matches(agent.token_hash):
        if rotation is not None and rotation.old_key_expired(now, grace):
            return KeyUse.REJECTED, None
        return KeyUse.CURRENT, None
    if rotation is not None:
        # Compare with every pending key so timing does not reveal which one matched.
        hits = [p for p in rotation.pending if matches(p.key_hash)]
        if hits:
            return KeyUse.NEW, hits[0]
    return KeyUse.REJECTED, None


def request_rotation(agent: Agent, at: datetime) -> bool:
    """Start a rotation; False when one is already in progress (requests are idempotent)."""
    if rotation_of(agent) is not None:
        return False
    agent.trigger_event(ApiKeyRotationRequested, at=at)
    return True


def deliver_key(agent: Agent, key_hash: str, key_prefix: str, at: datetime) -> None:
    agent.trigger_event(ApiKeyDelivered, key_hash=key_hash, key_prefix=key_prefix, at=at)


def complete_rotation(agent: Agent, new_key: PendingKey) -> None:
    agent.rotate_token(
        old_token_prefix=agent.token_prefix,
        token_hash=new_key.key_hash,
        token_prefix=new_key.key_prefix,
        token_expires_at=None,
    )
    agent.trigger_event(ApiKeyRotationCompleted, key_prefix=new_key.key_prefix)
