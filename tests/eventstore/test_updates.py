"""Load for update with retry: a concurrent save is met by looking again, a bounded number of
times; what a lost attempt changed never reaches the store or the cached aggregate."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from agentplane.eventstore.updates import load, update_with_retry

from .things import Thing, ThingStore


class Contended(Exception):
    pass


@pytest.fixture
def store() -> Any:
    # The repository cache and its copies, as `store_env` configures every service.
    store = ThingStore(
        {"AGGREGATE_CACHE_MAXSIZE": "100", "DEEPCOPY_FROM_AGGREGATE_CACHE": "y"},
        allow_memory=True,
    )
    yield store
    store.close()


def saved_thing(store: ThingStore, name: str = "first") -> Thing:
    thing = Thing(name)
    store.save(thing)
    return thing


def save(store: ThingStore) -> Any:
    def save_all(*aggregates: Any) -> int:
        recordings = store.save(*aggregates)
        return recordings[-1].notification.id

    return save_all


def test_load_gives_a_private_copy_to_change_and_none_for_nothing(store: ThingStore) -> None:
    thing = saved_thing(store)
    copy = load(store, thing.id)
    copy.rename("unsaved")
    assert load(store, thing.id, to_change=False).name == "first"
    assert load(store, thing.id, to_change=False) is load(store, thing.id, to_change=False)
    assert load(store, uuid4()) is None


def test_a_concurrent_save_is_met_by_redoing_the_change_on_what_is_stored(
    store: ThingStore,
) -> None:
    thing = saved_thing(store)
    rounds: list[str] = []

    def attempt() -> tuple[str, list[Thing]]:
        mine = load(store, thing.id)
        seen = mine.name
        if not rounds:
            # Another request saves between this load and this save.
            theirs = load(store, thing.id)
            theirs.rename("theirs")
            store.save(theirs)
        rounds.append(seen)
        mine.rename(f"{seen}+mine")
        return mine.name, [mine]

    result, position = update_with_retry(attempt, save(store), Contended)
    assert rounds == ["first", "theirs"]
    assert result == "theirs+mine" and position > 0
    assert load(store, thing.id).name == "theirs+mine"
    assert [type(e) for e in store.events.get(thing.id)] == [
        Thing.Created,
        Thing.Renamed,
        Thing.Renamed,
    ]


def test_retries_are_bounded(store: ThingStore) -> None:
    thing = saved_thing(store)
    calls = 0

    def always_overtaken() -> tuple[None, list[Thing]]:
        nonlocal calls
        calls += 1
        mine = load(store, thing.id)
        theirs = load(store, thing.id)
        theirs.rename(f"theirs {calls}")
        store.save(theirs)
        mine.rename("never saved")
        return None, [mine]

    with pytest.raises(Contended):
        update_with_retry(always_overtaken, save(store), Contended, attempts=3)
    assert calls == 3
    assert load(store, thing.id).name == "theirs 3"


def test_nothing_changed_saves_nothing_and_refusals_propagate(store: ThingStore) -> None:
    thing = saved_thing(store)
    saves: list[Any] = []

    def counting_save(*aggregates: Any) -> int:
        saves.append(aggregates)
        return 1

    unchanged = update_with_retry(
        lambda: ("same", [load(store, thing.id)]), counting_save, Contended
    )
    assert unchanged == ("same", 0) and saves == []

    def refused() -> tuple[None, list[Thing]]:
        raise LookupError("not found")

    with pytest.raises(LookupError):
        update_with_retry(refused, counting_save, Contended)

    # Only what changed is saved, together.
    other = saved_thing(store, "other")

    def one_of_two() -> tuple[None, list[Thing]]:
        changed, untouched = load(store, thing.id), load(store, other.id)
        changed.rename("changed")
        return None, [changed, untouched]

    update_with_retry(one_of_two, counting_save, Contended)
    assert [[a.id for a in group] for group in saves] == [[thing.id]]
