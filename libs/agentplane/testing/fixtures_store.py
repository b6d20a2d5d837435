"""Pytest fixtures for event-store tests: a real NATS server, PostgreSQL, and store settings.

`store_settings` runs a test once on SQLite and once on PostgreSQL. The PostgreSQL server is
started only when a PostgreSQL case runs, once per session; every test gets its own database,
because PostgreSQL tables are named after the application and would otherwise be shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from agentplane.settings import Settings
from agentplane.testing.nats import NatsServer
from agentplane.testing.postgres import PostgresServer, available_postgres

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    """A NATS server with JetStream for the whole session (or the one at NATS_URL)."""
    with NatsServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """PostgreSQL from POSTGRES_* or the pgserver binaries; skips when neither is available."""
    server, reason = available_postgres()
    if server is None:
        pytest.skip(f"no PostgreSQL for tests: {reason}")
    with server:
        yield server


def sqlite_settings(data_dir: Path) -> Settings:
    # Explicit values win over AGENTPLANE_* variables a developer may have exported.
    return Settings(data_dir=data_dir, event_store="sqlite", allow_memory_store=False)


@pytest.fixture(params=STORES)
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh event store: a SQLite data dir, or a fresh PostgreSQL database."""
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        yield sqlite_settings(data_dir)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    dbname = f"test_{uuid4().hex[:16]}"
    server.create_database(dbname)
    try:
        overrides = server.settings_overrides() | {"postgres_db": dbname}
        yield Settings(data_dir=data_dir, allow_memory_store=False, **overrides)
    finally:
        server.drop_database(dbname)
