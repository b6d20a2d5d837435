"""The heartbeat service's integration events: the public form of what it records."""

from __future__ import annotations

from typing import ClassVar

from agentplane.contracts.events.public import Instant, PublicEvent


class LivenessCameOnline(PublicEvent):
    """The agent's heartbeat arrived after it was offline or new."""

    TYPE: ClassVar[str] = "liveness.CameOnline"
    at: Instant


class LivenessTracked(PublicEvent):
    """Heartbeat started tracking the agent's liveness (bookkeeping)."""

    TYPE: ClassVar[str] = "liveness.Tracked"


class LivenessWentOffline(PublicEvent):
    """The agent missed its heartbeat deadline; `last_seen_at` is its last beat."""

    TYPE: ClassVar[str] = "liveness.WentOffline"
    at: Instant
    last_seen_at: Instant
