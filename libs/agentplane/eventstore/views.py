"""Read-model storage: JSON documents plus tracking positions, written in one transaction.

Every read model is a set of documents `(kind, key) -> doc`, scoped (e.g. by workspace) for
listing and ordered within a scope by `(sort, key)` for paging (`page`, see `paging.py`). A
generic shape keeps projections small and makes `replay --verify` a plain comparison of two
dumps.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from agentplane.eventstore.view_sql import (
    SORT_COLUMN,
    Doc,
    PageRow,
    SqlTx,
    ordered_index,
    schema,
)
from agentplane.settings import SharedSettings

Row = tuple[str, str, str, str]


class ViewTx(Protocol):
    """Reads and writes of one transaction."""

    def get(self, kind: str, key: str) -> Doc | None: ...
    def put(
        self, kind: str, key: str, doc: Doc, scope: str = "", sort: str | None = None
    ) -> None: ...
    def delete(self, kind: str, key: str) -> None: ...
    def clear(self, kind: str) -> None: ...
    def list(self, kind: str, scope: str | None = None) -> list[Doc]: ...
    def scopes(self, kind: str) -> set[str]: ...
    def page(
        self,
        kind: str,
        scope: str,
        limit: int,
        after: tuple[str, str] | None = None,
        until: str | None = None,
        descending: bool = False,
    ) -> list[PageRow]: ...
    def items(self, kind: str) -> list[tuple[str, Doc]]: ...
    def unsorted(self, kind: str) -> list[tuple[str, Doc]]: ...
    def set_sort(self, kind: str, key: str, sort: str) -> None: ...
    def position(self, name: str) -> int: ...
    def set_position(self, name: str, position: int) -> None: ...
    def lock(self, name: str) -> None: ...


class ViewStore(Protocol):
    """A read-model database."""

    def transaction(self) -> Any: ...
    def read(self) -> Any: ...
    def position(self, name: str) -> int: ...
    def dump(self) -> list[Row]: ...
    def close(self) -> None: ...


class _SqlViewStore:
    """What both view databases share once `read()` gives a transaction."""

    table: str
    _lock: threading.RLock
    _conn: Any

    def read(self) -> Any:
        raise NotImplementedError

    def position(self, name: str) -> int:
        with self.read() as tx:
            return tx.position(name)

    def dump(self) -> list[Row]:
        with self.read() as tx:
            tx.cur.execute(
                f"SELECT kind, key, scope, doc FROM {self.table}_rows ORDER BY kind, key"
            )
            return [tuple(r) for r in tx.cur.fetchall()]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class SQLiteViewStore(_SqlViewStore):
    """Views in a SQLite file (WAL); one writer at a time, readers never block it.

    Reads use a connection per thread, so they neither wait for the writer's lock nor for
    each other (WAL gives each read transaction its own snapshot).
    """

    def __init__(self, path: Path | str, table: str = "view") -> None:
        self.path = str(path)
        self.table = table
        self._lock = threading.RLock()
        self._conn = self._connect()
        self._conn.execute("PRAGMA journal_mode=WAL")
        for stmt in schema(table):
            self._conn.execute(stmt)
        columns = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table}_rows)")}
        if "sort" not in columns:
            self._conn.execute(SORT_COLUMN.format(table=table))
        for stmt in ordered_index(table):
            self._conn.execute(stmt)
        self._readers = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        # An in-memory database exists only on its own connection.
        self._in_memory = self.path in ("", ":memory:")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        # The view is rebuildable from the event log, and its position commits with it.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield SqlTx(cur, self.table, "?")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[SqlTx]:
        if self._in_memory:
            with self._lock:
                yield SqlTx(self._conn.cursor(), self.table, "?")
            return
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None:
            conn = self._connect()
            self._readers.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        cur = conn.cursor()
        # One snapshot for the whole read, however many statements it runs.
        cur.execute("BEGIN")
        try:
            yield SqlTx(cur, self.table, "?")
        finally:
            cur.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
            self._conn.close()


class PostgresViewStore(_SqlViewStore):
    """Views in PostgreSQL tables named `<table>_rows` and `<table>_tracking`."""

    def __init__(self, settings: SharedSettings, table: str, dbname: str | None = None) -> None:
        self.table = table
        self._lock = threading.RLock()
        self._settings = settings
        self._dbname = dbname or settings.postgres_db
        self._conn = self._connect()
        with self._conn.cursor() as cur:
            # Concurrent replicas may create the same tables at once.
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))
            for stmt in schema(table):
                cur.execute(stmt)
            cur.execute(SORT_COLUMN.format(table=table).replace("COLUMN", "COLUMN IF NOT EXISTS"))
            for stmt in ordered_index(table):
                cur.execute(stmt)
        self._conn.commit()

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(
            host=self._settings.postgres_host,
            port=self._settings.postgres_port,
            user=self._settings.postgres_user,
            password=self._settings.postgres_password,
            dbname=self._dbname,
            connect_timeout=5,
            autocommit=False,
        )

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        with self._lock:
            if self._conn.closed or self._conn.broken:
                # A server restart breaks the connection; the failed transaction was rolled
                # back by the server, so the caller's retry starts from a clean state.
                self._conn = self._connect()
            try:
                with self._conn.cursor() as cur:
                    yield SqlTx(cur, self.table, "%s")
            except BaseException:
                if not self._conn.broken:
                    self._conn.rollback()
                raise
            self._conn.commit()

    @contextmanager
    def read(self) -> Iterator[SqlTx]:
        with self.transaction() as tx:
            yield tx


def open_view_store(settings: SharedSettings, service: str) -> SQLiteViewStore | PostgresViewStore:
    """The live read-model store of a service, next to its event store."""
    if settings.event_store == "postgres":
        return PostgresViewStore(settings, f"{service}_view")
    return SQLiteViewStore(settings.service_data_dir() / f"{service}_views.sqlite")
