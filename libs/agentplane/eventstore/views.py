"""Read-model storage: JSON documents plus tracking positions, written in one transaction.

Every read model is a set of documents `(kind, key) -> doc`, scoped (e.g. by workspace) for
listing. A generic shape keeps projections small and makes `replay --verify` a plain
comparison of two dumps.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from agentplane.settings import Settings

Doc = dict[str, Any]
Row = tuple[str, str, str, str]


def _encode(doc: Doc) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)


class ViewTx(Protocol):
    """Reads and writes of one transaction."""

    def get(self, kind: str, key: str) -> Doc | None: ...
    def put(self, kind: str, key: str, doc: Doc, scope: str = "") -> None: ...
    def delete(self, kind: str, key: str) -> None: ...
    def list(self, kind: str, scope: str | None = None) -> list[Doc]: ...
    def items(self, kind: str) -> list[tuple[str, Doc]]: ...
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


class _SqlTx:
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

    def put(self, kind: str, key: str, doc: Doc, scope: str = "") -> None:
        self.cur.execute(
            self._q(
                f"INSERT INTO {self.rows} (kind, key, scope, doc) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET scope = excluded.scope, doc = excluded.doc"
            ),
            (kind, key, scope, _encode(doc)),
        )

    def delete(self, kind: str, key: str) -> None:
        self.cur.execute(
            self._q(f"DELETE FROM {self.rows} WHERE kind = ? AND key = ?"), (kind, key)
        )

    def list(self, kind: str, scope: str | None = None) -> list[Doc]:
        if scope is None:
            self.cur.execute(self._q(f"SELECT doc FROM {self.rows} WHERE kind = ?"), (kind,))
        else:
            self.cur.execute(
                self._q(f"SELECT doc FROM {self.rows} WHERE kind = ? AND scope = ?"), (kind, scope)
            )
        return [json.loads(r[0]) for r in self.cur.fetchall()]

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


def _schema(table: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {table}_rows (kind TEXT NOT NULL, key TEXT NOT NULL, "
        "scope TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, key))",
        f"CREATE INDEX IF NOT EXISTS {table}_rows_scope ON {table}_rows (kind, scope)",
        f"CREATE TABLE IF NOT EXISTS {table}_tracking (name TEXT PRIMARY KEY, "
        "position BIGINT NOT NULL)",
    ]


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
        for stmt in _schema(table):
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
    def transaction(self) -> Iterator[_SqlTx]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield _SqlTx(cur, self.table, "?")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[_SqlTx]:
        if self._in_memory:
            with self._lock:
                yield _SqlTx(self._conn.cursor(), self.table, "?")
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
            yield _SqlTx(cur, self.table, "?")
        finally:
            cur.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
            self._conn.close()


class PostgresViewStore(_SqlViewStore):
    """Views in PostgreSQL tables named `<table>_rows` and `<table>_tracking`."""

    def __init__(self, settings: Settings, table: str, dbname: str | None = None) -> None:
        self.table = table
        self._lock = threading.RLock()
        self._settings = settings
        self._dbname = dbname or settings.postgres_db
        self._conn = self._connect()
        with self._conn.cursor() as cur:
            # Concurrent replicas may create the same tables at once.
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))
            for stmt in _schema(table):
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
    def transaction(self) -> Iterator[_SqlTx]:
        with self._lock:
            if self._conn.closed or self._conn.broken:
                # A server restart breaks the connection; the failed transaction was rolled
                # back by the server, so the caller's retry starts from a clean state.
                self._conn = self._connect()
            try:
                with self._conn.cursor() as cur:
                    yield _SqlTx(cur, self.table, "%s")
            except BaseException:
                if not self._conn.broken:
                    self._conn.rollback()
                raise
            self._conn.commit()

    @contextmanager
    def read(self) -> Iterator[_SqlTx]:
        with self.transaction() as tx:
            yield tx


def open_view_store(settings: Settings, service: str) -> SQLiteViewStore | PostgresViewStore:
    """The live read-model store of a service, next to its event store."""
    if settings.event_store == "postgres":
        return PostgresViewStore(settings, f"{service}_view")
    return SQLiteViewStore(settings.service_data_dir() / f"{service}_views.sqlite")
