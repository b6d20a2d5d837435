"""The Liveness aggregate: the recorded transitions of one agent (id = the agent's id)."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event


class Liveness(Aggregate):
    """Transitions only; heartbeats themselves are never recorded."""

    TOPIC = "heartbeat.Liveness"

    class Event(Aggregate.Event):
        AGENT_SCOPED = True

    class Created(Event, Aggregate.Created):
        TOPIC = "liveness.Tracked"

    class CameOnline(Event):
        TOPIC = "liveness.CameOnline"
        at: datetime

    class WentOffline(Event):
        TOPIC = "liveness.WentOffline"
        at: datetime
        last_seen_at: datetime

    def __init__(self) -> None:
        self.online = False

    @event(CameOnline)
    def came_online(self, at: datetime) -> None:
        self.online = True

    @event(WentOffline)
    def went_offline(self, at: datetime, last_seen_at: datetime) -> None:
        self.online = False
