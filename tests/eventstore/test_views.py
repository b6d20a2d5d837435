"""View stores: documents and tracking positions commit, or roll back, together."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentplane.eventstore.views import ViewStore, open_view_store
from agentplane.settings import Settings


@pytest.fixture
def views(store_settings: Settings) -> Iterator[ViewStore]:
    store = open_view_store(store_settings, "things")
    yield store
    store.close()


class Boom(Exception):
    pass


def test_put_get_list_delete(views: ViewStore) -> None:
    with views.transaction() as tx:
        tx.put("thing", "a", {"n": 1}, scope="red")
        tx.put("thing", "b", {"n": 2}, scope="blue")
        tx.put("thing", "a", {"n": 3}, scope="red")  # an upsert, not a second row
        tx.put("other", "a", {"n": 4})

    with views.read() as tx:
        assert tx.get("thing", "a") == {"n": 3}
        assert tx.get("thing", "missing") is None
        assert sorted(d["n"] for d in tx.list("thing")) == [2, 3]
        assert tx.list("thing", scope="blue") == [{"n": 2}]
        assert sorted(tx.items("thing")) == [("a", {"n": 3}), ("b", {"n": 2})]
        assert tx.scopes("thing") == {"red", "blue"}
        assert tx.scopes("other") == {""}
        assert tx.scopes("missing") == set()

    with views.transaction() as tx:
        tx.delete("thing", "a")
    with views.read() as tx:
        assert tx.scopes("thing") == {"blue"}  # a scope whose last row went is gone
    assert views.dump() == [
        ("other", "a", "", '{"n":4}'),
        ("thing", "b", "blue", '{"n":2}'),
    ]


def test_exception_rolls_back_docs_and_position(views: ViewStore) -> None:
    with views.transaction() as tx:
        tx.put("thing", "a", {"v": 1})
        tx.set_position("projection:things", 3)
    before = views.dump()

    with pytest.raises(Boom), views.transaction() as tx:
        tx.put("thing", "a", {"v": 2})
        tx.put("thing", "b", {"v": 1})
        tx.delete("thing", "a")
        tx.set_position("projection:things", 7)
        raise Boom

    assert views.dump() == before
    assert views.position("projection:things") == 3
    # The store is usable after a rollback.
    with views.transaction() as tx:
        tx.set_position("projection:things", 4)
    assert views.position("projection:things") == 4


def test_positions_are_independent_and_durable(store_settings: Settings) -> None:
    store = open_view_store(store_settings, "things")
    assert store.position("relay:things") == 0
    with store.transaction() as tx:
        tx.set_position("relay:things", 5)
        tx.set_position("projection:things", 9)
        tx.put("thing", "a", {"v": 1})
    store.close()

    reopened = open_view_store(store_settings, "things")
    try:
        assert reopened.position("relay:things") == 5
        assert reopened.position("projection:things") == 9
        assert reopened.dump() == [("thing", "a", "", '{"v":1}')]
    finally:
        reopened.close()


def _indexes(views: ViewStore) -> set[str]:
    table = f"{views.table}_rows"  # type: ignore[attr-defined]
    with views.read() as tx:
        if tx.ph == "?":
            tx.cur.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                           (table,))  # fmt: skip
        else:
            tx.cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,))
        return {row[0] for row in tx.cur.fetchall()}


def test_a_store_of_an_earlier_version_loses_its_scope_index(store_settings: Settings) -> None:
    """Earlier versions also indexed `(kind, scope)`, the paging index's prefix: opening such
    a store drops it, and listing a scope still reads an index, not the whole table."""
    views = open_view_store(store_settings, "things")
    table = views.table  # type: ignore[attr-defined]
    with views.transaction() as tx:
        tx.put("thing", "a", {"n": 1}, scope="red")
        tx.cur.execute(f"CREATE INDEX {table}_rows_scope ON {table}_rows (kind, scope)")
    assert f"{table}_rows_scope" in _indexes(views)
    views.close()

    views = open_view_store(store_settings, "things")
    try:
        assert _indexes(views) >= {f"{table}_rows_order"}
        assert f"{table}_rows_scope" not in _indexes(views)
        with views.read() as tx:
            assert tx.list("thing", scope="red") == [{"n": 1}]
            if tx.ph == "?":
                tx.cur.execute(f"EXPLAIN QUERY PLAN SELECT doc FROM {table}_rows "
                               "WHERE kind = 'thing' AND scope = 'red'")  # fmt: skip
                plan = " ".join(str(row[-1]) for row in tx.cur.fetchall())
                assert f"INDEX {table}_rows_order" in plan, plan
    finally:
        views.close()
