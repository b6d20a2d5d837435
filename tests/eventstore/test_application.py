"""ServiceApplication: persistence is real (SQLite or PostgreSQL) and topics are stable."""

from __future__ import annotations

import pytest

from agentplane.eventstore.application import InMemoryStoreRefused, store_env
from agentplane.settings import Settings

from .things import Thing, ThingStore, open_things


def test_refuses_memory_store_unless_allowed() -> None:
    with pytest.raises(InMemoryStoreRefused):
        ThingStore()
    with pytest.raises(InMemoryStoreRefused):
        ThingStore({"PERSISTENCE_MODULE": "eventsourcing.popo"})

    store = ThingStore(allow_memory=True)
    thing = Thing("kept-in-memory")
    store.save(thing)
    assert store.repository.get(thing.id).name == "kept-in-memory"
    store.close()


def test_store_env_selects_the_configured_store(store_settings: Settings) -> None:
    env = store_env(store_settings, "things")
    assert env["PERSISTENCE_MODULE"] == f"eventsourcing.{store_settings.event_store}"


def test_events_survive_reopening(store_settings: Settings) -> None:
    store = open_things(store_settings)
    thing = Thing("first")
    thing.rename("second")
    store.save(thing)
    store.close()

    reopened = open_things(store_settings)
    try:
        again = reopened.repository.get(thing.id)
        assert (again.name, again.version) == ("second", 2)
        assert reopened.recorder.max_notification_id() == 2
    finally:
        reopened.close()


def test_explicit_topics_are_stored(store_settings: Settings) -> None:
    store = open_things(store_settings)
    try:
        thing = Thing("named")
        thing.rename("renamed")
        store.save(thing)

        stored = store.recorder.select_events(thing.id)
        # The stored topics are the explicit ones, not `tests.eventstore.things:Thing.Created`,
        # so moving the code never orphans recorded events.
        assert [e.topic for e in stored] == ["test.Thing.Created", "test.Thing.Renamed"]
        created = store.mapper.to_domain_event(stored[0])
        assert isinstance(created, Thing.Created)
        assert created.originator_topic == "test.Thing"

        notifications = store.recorder.select_notifications(0, 10, inclusive_of_start=False)
        assert [n.topic for n in notifications] == ["test.Thing.Created", "test.Thing.Renamed"]
    finally:
        store.close()
