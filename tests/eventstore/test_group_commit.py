"""Group commit: concurrent saves share transactions; a conflict fails only its own command."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from eventsourcing.persistence import IntegrityError

from agentplane.eventstore.group_commit import GroupCommitter
from agentplane.settings import Settings

from .things import Thing, open_things


def test_concurrent_saves_are_grouped_and_all_recorded(store_settings: Settings) -> None:
    store = open_things(store_settings)
    after: list[int] = []
    committer = GroupCommitter(store, after_commit=lambda: after.append(1))
    things = [Thing(name=f"t{i}") for i in range(200)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        positions = list(pool.map(committer.save, things))
    assert all(p > 0 for p in positions)
    assert committer.saved == 200
    assert committer.groups < 200, "no two saves shared a transaction"
    assert len(after) == committer.groups
    stored = store.recorder.select_notifications(0, 1000)
    assert len(stored) == 200
    for thing in things:
        assert store.repository.get(thing.id).name == thing.name


def test_a_conflict_in_a_group_fails_only_its_own_command(store_settings: Settings) -> None:
    store = open_things(store_settings)
    committer = GroupCommitter(store)
    original = Thing(name="a")
    committer.save(original)
    # Two commands load the same version and change it: one must lose.
    first, second = store.repository.get(original.id), store.repository.get(original.id)
    first.rename(name="first")
    second.rename(name="second")
    others = [Thing(name=f"o{i}") for i in range(20)]
    barrier = threading.Barrier(22)

    def save(aggregate: Thing) -> str:
        barrier.wait()
        try:
            committer.save(aggregate)
            return "ok"
        except IntegrityError:
            return "conflict"

    with ThreadPoolExecutor(max_workers=22) as pool:
        results = list(pool.map(save, [first, second, *others]))
    assert sorted(results[:2]) == ["conflict", "ok"]
    assert results[2:] == ["ok"] * 20
    assert store.repository.get(original.id).name in {"first", "second"}
    for other in others:
        assert store.repository.get(other.id).name == other.name


def test_a_lone_conflict_raises(store_settings: Settings) -> None:
    store = open_things(store_settings)
    committer = GroupCommitter(store)
    thing = Thing(name="x")
    committer.save(thing)
    stale = Thing._create(Thing.Created, id=thing.id, name="x", colour="red")
    with pytest.raises(IntegrityError):
        committer.save(stale)


def test_a_batch_saves_each_member_all_or_nothing_in_few_transactions(
    store_settings: Settings,
) -> None:
    store = open_things(store_settings)
    committer = GroupCommitter(store)
    taken = Thing(name="taken")
    committer.save(taken)
    # Each save of a group is one `insert_events` of the store's recorder (a transaction).
    saves: list[int] = []
    insert = store.recorder.insert_events

    def counted(events: list[object], **kwargs: object) -> object:
        saves.append(len(events))
        return insert(events, **kwargs)  # type: ignore[arg-type]

    store.recorder.insert_events = counted  # type: ignore[method-assign]
    members = [tuple(Thing(name=f"m{i}").collect_events()) for i in range(64)]
    # Member 40 creates an id that exists: only it is refused.
    duplicate = Thing._create(Thing.Created, id=taken.id, name="again", colour="red")
    members[40] = tuple(duplicate.collect_events())
    outcomes = committer.save_each(members)
    assert isinstance(outcomes[40], IntegrityError)
    saved = [o for i, o in enumerate(outcomes) if i != 40]
    assert all(isinstance(o, int) and o > 0 for o in saved)
    assert len(store.recorder.select_notifications(0, 1000)) == 1 + 63
    assert store.repository.get(taken.id).name == "taken"
    # Split in halves around the conflict (1 + 2·log2(64) saves), not one save per member.
    assert len(saves) <= 13, saves
    assert store.recorder.max_notification_id() == max(saved)  # type: ignore[type-var]
