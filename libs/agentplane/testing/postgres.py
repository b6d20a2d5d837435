"""A PostgreSQL server for tests: the one named by `POSTGRES_*`, or a throwaway local one.

Without Docker, the throwaway server runs the PostgreSQL 16 binaries bundled in the `pgserver`
wheel. `pgserver.get_server()` is not used: as root it runs `useradd`. `initdb` and `postgres`
refuse to run as root, so as root both run as an existing unprivileged account via `setpriv`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql

from agentplane.testing.postgres_tools import (
    PostgresUnavailable,
    ToolRunner,
    base_temp_dir,
    free_port,
    pgserver_bin_dir,
)

TEST_USER = "agentplane"
START_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class PostgresParams:
    """How to reach a server as a user that may create databases."""

    host: str
    port: int
    user: str
    password: str
    dbname: str


def params_from_env() -> PostgresParams | None:
    """The server named by `POSTGRES_HOST` (and optionally PORT/USER/PASSWORD/DB), if any."""
    host = os.environ.get("POSTGRES_HOST")
    if not host:
        return None
    return PostgresParams(
        host=host,
        port=int(os.environ.get("POSTGRES_PORT", "5432")),
        user=os.environ.get("POSTGRES_USER", "postgres"),
        password=os.environ.get("POSTGRES_PASSWORD", ""),
        dbname=os.environ.get("POSTGRES_DB", "postgres"),
    )


class PostgresServer:
    """A server for tests. Use as a context manager, or call `start()` and `stop()`.

    With `POSTGRES_HOST` set, that server is used as it is (its user must be allowed to create
    databases) and `stop()` leaves it running. Otherwise `start()` runs `initdb` in a fresh
    temporary directory and starts PostgreSQL on 127.0.0.1 and a free port, with trust
    authentication for the user `agentplane`; `stop()` shuts it down and deletes the directory.
    """

    def __init__(self) -> None:
        self.params: PostgresParams | None = None
        self._runner: ToolRunner | None = None
        self._workdir: Path | None = None

    def start(self) -> PostgresServer:
        """Provide a server; raise `PostgresUnavailable` when there is no way to."""
        if self.params is not None:
            return self
        env_params = params_from_env()
        if env_params is not None:
            self._check_reachable(env_params)
            self.params = env_params
            return self
        bin_dir = pgserver_bin_dir()
        if bin_dir is None:
            raise PostgresUnavailable(
                "POSTGRES_HOST is not set and the pgserver wheel (PostgreSQL binaries) is not "
                "installed; install the dev extras or point POSTGRES_* at a server"
            )
        self._start_local(ToolRunner(bin_dir))
        return self

    @staticmethod
    def _check_reachable(params: PostgresParams) -> None:
        # A server named explicitly but unreachable is a broken setup, not a reason to skip:
        # this raises a plain error so the tests fail loudly.
        try:
            with psycopg.connect(**_conninfo(params), connect_timeout=5):
                pass
        except psycopg.Error as exc:
            raise RuntimeError(
                f"POSTGRES_HOST={params.host} port {params.port} is set but not reachable "
                f"as {params.user!r}: {exc}"
            ) from exc

    def _start_local(self, runner: ToolRunner) -> None:
        account = runner.account.pw_name if runner.account else None
        workdir = Path(tempfile.mkdtemp(prefix="agentplane-pg-", dir=base_temp_dir(account)))
        self._runner, self._workdir = runner, workdir
        data = workdir / "data"
        try:
            runner.own(workdir)
            init = runner.run(
                "initdb",
                "-D",
                str(data),
                "-U",
                TEST_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            )
            if init.returncode != 0:
                raise PostgresUnavailable(f"initdb failed: {init.stdout.strip()[-2000:]}")
            self.params = self._pg_ctl_start(runner, data, workdir / "postgres.log")
        except BaseException:
            if (data / "postmaster.pid").exists():  # interrupted after the server came up
                runner.run("pg_ctl", "stop", "-D", str(data), "-m", "immediate", "-w")
            shutil.rmtree(workdir, ignore_errors=True)
            self._runner = self._workdir = None
            raise

    @staticmethod
    def _pg_ctl_start(runner: ToolRunner, data: Path, log: Path) -> PostgresParams:
        failure = ""
        for _ in range(3):  # a fresh port each time, in case another process took the last one
            port = free_port()
            # TCP on loopback only; no Unix socket, whose path length and directory vary.
            options = f"-c listen_addresses=127.0.0.1 -c port={port} -k '' -c max_connections=200"
            started = runner.run(
                "pg_ctl",
                "start",
                "-D",
                str(data),
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "-l",
                str(log),
                "-o",
                options,
                timeout=START_TIMEOUT_SECONDS + 10,
            )
            if started.returncode == 0:
                return PostgresParams("127.0.0.1", port, TEST_USER, "", "postgres")
            failure = started.stdout + (log.read_text() if log.exists() else "")
        raise PostgresUnavailable(f"PostgreSQL did not start: {failure.strip()[-2000:]}")

    def stop(self) -> None:
        """Shut a local server down (fast mode: rolls back open sessions) and delete its files."""
        runner, workdir = self._runner, self._workdir
        self.params = self._runner = self._workdir = None
        if runner is None or workdir is None:
            return
        try:
            runner.run("pg_ctl", "stop", "-D", str(workdir / "data"), "-m", "fast", "-w")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _require(self) -> PostgresParams:
        if self.params is None:
            raise RuntimeError("PostgresServer is not started")
        return self.params

    def settings_overrides(self) -> dict[str, Any]:
        """Keyword arguments for `Settings` that select this server."""
        params = self._require()
        return {
            "event_store": "postgres",
            "postgres_host": params.host,
            "postgres_port": params.port,
            "postgres_user": params.user,
            "postgres_password": params.password,
            "postgres_db": params.dbname,
        }

    def connect(self, dbname: str | None = None) -> psycopg.Connection[Any]:
        """An autocommit connection, e.g. for CREATE DATABASE (which refuses transactions)."""
        params = self._require()
        info = _conninfo(params) | ({"dbname": dbname} if dbname else {})
        return psycopg.connect(**info, autocommit=True, connect_timeout=5)

    def create_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        # FORCE ends sessions a test left open (e.g. an application it did not close).
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _conninfo(params: PostgresParams) -> dict[str, Any]:
    return {
        "host": params.host,
        "port": params.port,
        "user": params.user,
        "password": params.password,
        "dbname": params.dbname,
    }


def available_postgres() -> tuple[PostgresServer | None, str]:
    """A started server and "", or None and the reason no server can be had."""
    server = PostgresServer()
    try:
        return server.start(), ""
    except PostgresUnavailable as exc:
        return None, str(exc)
