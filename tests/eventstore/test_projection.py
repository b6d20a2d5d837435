"""ProjectionRunner: applies new events, records its position in the same transaction,
never applies an event twice, and a rebuild from 0 reproduces the live view exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import DomainEventProtocol

from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.views import (
    PostgresViewStore,
    SQLiteViewStore,
    ViewStore,
    ViewTx,
    open_view_store,
)
from agentplane.settings import Settings

from .things import (
    FailingProjection,
    ProjectionFailed,
    Thing,
    ThingProjection,
    ThingStore,
    add_things,
    last_position,
    open_things,
)


@pytest.fixture
def store(store_settings: Settings) -> Iterator[ThingStore]:
    app = open_things(store_settings)
    yield app
    app.close()


@pytest.fixture
def views(store_settings: Settings) -> Iterator[ViewStore]:
    view_store = open_view_store(store_settings, "things")
    yield view_store
    view_store.close()


def scratch_store(settings: Settings, tmp_path: Path) -> ViewStore:
    """An empty store next to the live one, as `replay --verify` uses."""
    if settings.event_store == "postgres":
        return PostgresViewStore(settings, "things_scratch")
    return SQLiteViewStore(tmp_path / "scratch.sqlite")


def applied_events(views: ViewStore) -> int:
    with views.read() as tx:
        stats = tx.get("stats", "all")
    return int(stats["events"]) if stats else 0


def test_catch_up_applies_new_events_and_records_position(
    store: ThingStore, views: ViewStore
) -> None:
    runner = ProjectionRunner(store, views, ThingProjection())
    assert runner.catch_up() == 0
    assert runner.position() == 0

    first, second = add_things(store, 2)
    assert runner.catch_up() == 2
    assert runner.position() == last_position(store)
    with views.read() as tx:
        assert tx.get("thing", str(first.id)) == {"name": "thing-0", "colour": "red", "version": 1}
        assert tx.list("thing", scope="blue") == [
            {"name": "thing-1", "colour": "blue", "version": 1}
        ]

    second.rename("renamed")
    store.save(second)
    assert runner.catch_up() == 1
    with views.read() as tx:
        assert tx.get("thing", str(second.id))["name"] == "renamed"
    assert runner.position() == last_position(store)


def test_catch_up_is_idempotent_across_runners(
    store: ThingStore, views: ViewStore, store_settings: Settings
) -> None:
    add_things(store, 5)
    # Small batches: several transactions, each committing its docs with its position.
    assert ProjectionRunner(store, views, ThingProjection(), batch_size=2).catch_up() == 5
    snapshot = views.dump()
    assert ProjectionRunner(store, views, ThingProjection()).catch_up() == 0
    assert views.dump() == snapshot

    # A restarted service (new store objects, same files or database) resumes, not replays.
    reopened = open_view_store(store_settings, "things")
    try:
        assert ProjectionRunner(store, reopened, ThingProjection()).catch_up() == 0
        add_things(store, 1, prefix="later")
        assert ProjectionRunner(store, reopened, ThingProjection()).catch_up() == 1
        assert applied_events(reopened) == 6
    finally:
        reopened.close()


def test_failed_batch_rolls_back_docs_and_position(store: ThingStore, views: ViewStore) -> None:
    add_things(store, 2)
    store.save(Thing("poison"))
    add_things(store, 1, prefix="after")

    # One batch per event: the two events before the poison commit, the poison rolls back.
    runner = ProjectionRunner(store, views, FailingProjection("poison"), batch_size=1)
    with pytest.raises(ProjectionFailed):
        runner.catch_up()
    assert runner.position() == 2
    assert applied_events(views) == 2
    with views.read() as tx:
        assert {d["name"] for d in tx.list("thing")} == {"thing-0", "thing-1"}

    # One batch for everything: nothing of the batch is kept, the position does not move.
    add_things(store, 1, prefix="more")
    big = ProjectionRunner(store, views, FailingProjection("poison"), batch_size=100)
    with pytest.raises(ProjectionFailed):
        big.catch_up()
    assert big.position() == 2
    assert applied_events(views) == 2

    # Once the projection is fixed, it resumes right after the last committed position.
    assert ProjectionRunner(store, views, ThingProjection()).catch_up() == 3
    assert applied_events(views) == 5


def test_rebuild_from_zero_gives_identical_dump(
    store: ThingStore, views: ViewStore, store_settings: Settings, tmp_path: Path
) -> None:
    live = ProjectionRunner(store, views, ThingProjection(), batch_size=3)
    things = add_things(store, 4)
    live.catch_up()
    for thing in things[:2]:
        thing.rename(f"{thing.name}-renamed")
    store.save(*things[:2])
    add_things(store, 3, prefix="late")
    live.catch_up()

    scratch = scratch_store(store_settings, tmp_path)
    try:
        count, seconds = ProjectionRunner(store, scratch, ThingProjection()).rebuild()
        assert count == 9
        assert seconds >= 0
        assert scratch.dump() == views.dump()
        assert scratch.position("projection:things") == views.position("projection:things")
    finally:
        scratch.close()


class MovedThingProjection(ThingProjection):
    """A new version that keeps things under another kind: the old kind must not survive."""

    version = 2
    rebuilt_kinds = ("thing", "stats")

    def apply(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None:
        if isinstance(event, Thing.Created):
            tx.put("item", str(event.originator_id), {"name": event.name}, scope=event.colour)
        stats = tx.get("stats", "all") or {"events": 0}
        stats["events"] += 1
        tx.put("stats", "all", stats)


def test_a_new_version_empties_its_rebuilt_kinds_before_the_replay(
    store: ThingStore, views: ViewStore, store_settings: Settings, tmp_path: Path
) -> None:
    old = ProjectionRunner(store, views, ThingProjection())
    assert old.migrate() == 0  # at the first start: marks the view, nothing to replay
    add_things(store, 4)
    old.catch_up()
    with views.transaction() as tx:  # a document of a kind the projection does not name
        tx.put("other", "x", {"kept": True})

    assert ProjectionRunner(store, views, MovedThingProjection()).migrate() == 4
    with views.read() as tx:
        assert tx.items("thing") == []  # what only the old version wrote is gone
        assert len(tx.items("item")) == 4
        assert tx.get("other", "x") == {"kept": True}
    assert applied_events(views) == 4  # counted once: the old count went with its kind
    scratch = scratch_store(store_settings, tmp_path)
    try:
        ProjectionRunner(store, scratch, MovedThingProjection()).rebuild()
        assert [r for r in views.dump() if r[0] != "other"] == scratch.dump()
    finally:
        scratch.close()
