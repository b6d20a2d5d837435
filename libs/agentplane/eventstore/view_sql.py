"""The SQL of the read-model tables, shared by the SQLite and PostgreSQL view stores."""

from __future__ import annotations

import json
from typing import Any

Doc = dict[str, Any]
# One row of a page: (sort, key, the document's JSON text, undecoded).
PageRow = tuple[str, str, str]


# One encoder for every document: `json.dumps` with options builds a new one per call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def encode(doc: Doc) -> str:
    return _ENCODER.encode(doc)


class SqlTx:
    """ViewTx over a DB-API cursor; `ph` is the placeholder style of the driver."""

    def __init__(self, cur: Any, table: str, ph: str) -> None:
        self.cur = cur
        self.rows = f"{table}_rows"
        self.tracking = f"{table}_tracking"
        self.ph = ph

    def _q(self, sql: str) -> str:
        return sql.replace("?", self.ph)

    def get(self, kind: str, key: str) -> Doc | None:
        self.cur.execute(
            self._q(f"SELECT doc FROM {self.rows} WHERE kind = ? AND key = ?"), (kind, key)
        )
        row = self.cur.fetchone()
        return json.loads(row[0]) if row else None

    def put(self, kind: str, key: str, doc: Doc, scope: str = "", sort: str | None = None) -> None:
        """Insert or replace a document; `sort` None keeps the row's order key ("" if new)."""
        keep = sort is None
        self.cur.execute(
            self._q(
                f"INSERT INTO {self.rows} (kind, key, scope, doc, sort) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET scope = excluded.scope, doc = excluded.doc"
                + ("" if keep else ", sort = excluded.sort")
            ),
            (kind, key, scope, encode(doc), sort or ""),
        )

    def delete(self, kind: str, key: str) -> None:
        self.cur.execute(
            self._q(f"DELETE FROM {self.rows} WHERE kind = ? AND key = ?"), (kind, key)
        )

    def clear(self, kind: str) -> None:
        """Delete every document of `kind`."""
        self.cur.execute(self._q(f"DELETE FROM {self.rows} WHERE kind = ?"), (kind,))

    def list(self, kind: str, scope: str | None = None) -> list[Doc]:
        if scope is None:
            self.cur.execute(self._q(f"SELECT doc FROM {self.rows} WHERE kind = ?"), (kind,))
        else:
            self.cur.execute(
                self._q(f"SELECT doc FROM {self.rows} WHERE kind = ? AND scope = ?"), (kind, scope)
            )
        return [json.loads(r[0]) for r in self.cur.fetchall()]

    def scopes(self, kind: str) -> set[str]:
        """The scopes that hold a row of `kind`: read from the paging index alone, no document
        decoded (a kind's whole list cost ~5 µs a row)."""
        self.cur.execute(self._q(f"SELECT DISTINCT scope FROM {self.rows} WHERE kind = ?"), (kind,))
        return {r[0] for r in self.cur.fetchall()}

    def page(
        self,
        kind: str,
        scope: str,
        limit: int,
        after: tuple[str, str] | None = None,
        until: str | None = None,
        descending: bool = False,
    ) -> list[PageRow]:
        """Up to `limit` rows of a scope in `(sort, key)` order (or reverse), after `after`,
        stopping at `until` (inclusive bound on `sort`); an index range scan."""
        sql = f"SELECT sort, key, doc FROM {self.rows} WHERE kind = ? AND scope = ?"
        args: list[Any] = [kind, scope]
        if after is not None:
            sql += " AND (sort, key) < (?, ?)" if descending else " AND (sort, key) > (?, ?)"
            args += list(after)
        if until is not None:
            sql += " AND sort >= ?" if descending else " AND sort <= ?"
            args.append(until)
        order = "DESC" if descending else "ASC"
        sql += f" ORDER BY sort {order}, key {order} LIMIT ?"
        self.cur.execute(self._q(sql), (*args, limit))
        return [(r[0], r[1], r[2]) for r in self.cur.fetchall()]

    def unsorted(self, kind: str) -> list[tuple[str, Doc]]:
        """(key, doc) of the rows of `kind` without an order key (written before they had one)."""
        self.cur.execute(
            self._q(f"SELECT key, doc FROM {self.rows} WHERE kind = ? AND sort = ''"), (kind,)
        )
        return [(r[0], json.loads(r[1])) for r in self.cur.fetchall()]

    def set_sort(self, kind: str, key: str, sort: str) -> None:
        self.cur.execute(
            self._q(f"UPDATE {self.rows} SET sort = ? WHERE kind = ? AND key = ?"),
            (sort, kind, key),
        )

    def items(self, kind: str) -> list[tuple[str, Doc]]:
        self.cur.execute(self._q(f"SELECT key, doc FROM {self.rows} WHERE kind = ?"), (kind,))
        return [(r[0], json.loads(r[1])) for r in self.cur.fetchall()]

    def position(self, name: str) -> int:
        self.cur.execute(self._q(f"SELECT position FROM {self.tracking} WHERE name = ?"), (name,))
        row = self.cur.fetchone()
        return int(row[0]) if row else 0

    def lock(self, name: str) -> None:
        """Serialise writers of `name` (replicas sharing a PostgreSQL view).

        SQLite needs nothing: BEGIN IMMEDIATE already admits one writer at a time.
        """
        if self.ph == "%s":
            self.cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))

    def set_position(self, name: str, position: int) -> None:
        self.cur.execute(
            self._q(
                f"INSERT INTO {self.tracking} (name, position) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position"
            ),
            (name, position),
        )


def schema(table: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {table}_rows (kind TEXT NOT NULL, key TEXT NOT NULL, "
        "scope TEXT NOT NULL, doc TEXT NOT NULL, sort TEXT NOT NULL DEFAULT '', "
        "PRIMARY KEY (kind, key))",
        f"CREATE TABLE IF NOT EXISTS {table}_tracking (name TEXT PRIMARY KEY, "
        "position BIGINT NOT NULL)",
    ]


def ordered_index(table: str) -> list[str]:
    """The paging index; after `_schema` and, on a store of an older version, the column.

    Its prefix `(kind, scope)` also serves listing by scope, so the `(kind, scope)` index
    stores of earlier versions have is dropped once this one exists: it only cost every
    write of every view another index entry to maintain.
    """
    return [
        f"CREATE INDEX IF NOT EXISTS {table}_rows_order ON {table}_rows (kind, scope, sort, key)",
        f"DROP INDEX IF EXISTS {table}_rows_scope",
    ]


SORT_COLUMN = "ALTER TABLE {table}_rows ADD COLUMN sort TEXT NOT NULL DEFAULT ''"
