"""A small aggregate, application and projection shared by the event-store tests.

eventsourcing registers explicit topics globally, so these classes are defined once, here.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate, DomainEventProtocol, event

from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.views import ViewTx
from agentplane.settings import Settings


class Thing(Aggregate):
    TOPIC = "test.Thing"

    class Created(Aggregate.Created):
        TOPIC = "test.Thing.Created"
        name: str
        colour: str

    class Renamed(Aggregate.Event):
        TOPIC = "test.Thing.Renamed"
        name: str

    @event(Created)
    def __init__(self, name: str, colour: str = "red") -> None:
        self.name = name
        self.colour = colour

    @event(Renamed)
    def rename(self, name: str) -> None:
        self.name = name


class ThingStore(ServiceApplication):
    name = "things"


def thing_store_class(name: str) -> type[ThingStore]:
    """A ThingStore under another name: its own SQLite file, tables and relay subjects."""
    return type(f"ThingStore_{name}", (ThingStore,), {"name": name})


def unique_app_name() -> str:
    """An app name no other test uses, so tests can share one JetStream stream."""
    return f"things_{uuid4().hex[:10]}"


def open_things(settings: Settings, cls: type[ThingStore] = ThingStore) -> ThingStore:
    store = cls.from_settings(settings)
    assert isinstance(store, ThingStore)
    return store


def add_things(store: ThingStore, count: int, *, prefix: str = "thing") -> list[Thing]:
    things = [Thing(f"{prefix}-{i}", colour=("red", "blue")[i % 2]) for i in range(count)]
    store.save(*things)
    return things


def last_position(store: ThingStore) -> int:
    return store.recorder.max_notification_id() or 0


class ThingProjection:
    """Documents per thing, scoped by colour, plus a counter of applied events.

    The counter is not idempotent on purpose: an event applied twice shows up in it.
    """

    name = "things"

    def apply(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None:
        key = str(event.originator_id)
        if isinstance(event, Thing.Created):
            doc = {"name": event.name, "colour": event.colour, "version": 1}
            tx.put("thing", key, doc, scope=event.colour)
        elif isinstance(event, Thing.Renamed):
            doc = tx.get("thing", key) or {}
            doc.update(name=event.name, version=event.originator_version)
            tx.put("thing", key, doc, scope=doc.get("colour", ""))
        stats = tx.get("stats", "all") or {"events": 0}
        stats["events"] += 1
        tx.put("stats", "all", stats)


class ProjectionFailed(Exception):
    pass


class FailingProjection(ThingProjection):
    """Fails on the event that creates a thing named `poison`."""

    def __init__(self, poison: str) -> None:
        self.poison = poison

    def apply(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None:
        super().apply(event, tx)
        if isinstance(event, Thing.Created) and event.name == self.poison:
            raise ProjectionFailed(self.poison)
