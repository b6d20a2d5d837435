"""The agentplane pytest plugin: real NATS, PostgreSQL, and the whole system as processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from agentplane.testing.fixtures_store import (  # noqa: F401 - fixtures for pytest
    nats_server,
    postgres_server,
    store_settings,
)
from agentplane.testing.secret_scan import scan_bytes, scan_tree
from agentplane.testing.system import EXTRA_LOGS, STARTED, RunningSystem


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole suite: no full secret in any data dir, JetStream store or log."""
    if not STARTED and not EXTRA_LOGS:
        return
    leaks = []
    for running in STARTED:
        leaks += scan_tree(running.data_dir)
        if running.log_path.exists():
            leaks += scan_bytes(running.log_path, running.log_path.read_bytes())
    for log_path in EXTRA_LOGS:
        if log_path.exists():
            leaks += scan_bytes(log_path, log_path.read_bytes())
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if leaks:
        lines = "\n".join(str(leak) for leak in leaks[:50])
        if reporter:
            reporter.write_line(f"SECRET SCAN FAILED: {len(leaks)} full secrets found:\n{lines}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter:
        reporter.write_line(
            f"secret scan: no full secret in the data dirs, JetStream stores and logs "
            f"of {len(STARTED)} systems and {len(EXTRA_LOGS)} other logs"
        )


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """One running system for the session, started like `make run`."""
    running = RunningSystem(tmp_path_factory.mktemp("system") / "data").start()
    drained = False
    try:
        yield running
        # Views fed by events lag what was published by a moment; a stop in that moment
        # leaves the rest to the next start, which `replay --verify` of a stopped system
        # cannot see (a false "rows differ"). Verified below is the quiesced system.
        drained = asyncio.run(running.consumers_drained())
    finally:
        running.stop()
    assert drained, "event consumers still had events pending 30 s after the last test"
    # After every test that used it, the read models must still be exactly what the event
    # log rebuilds: `replay --verify` over the session's data dir.
    started = time.monotonic()
    result = running.cli("replay", "--verify")
    took = time.monotonic() - started
    print(f"\nreplay --verify of the session system ({took:.1f} s):\n" + result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def system_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RunningSystem]]:
    """Start extra systems (own data dir, own settings), stopped when the module ends.

    Per module, not per session: a system left running (a fleet going offline, timers firing)
    would load the machine under every later test. The stops run side by side.
    """
    started: list[RunningSystem] = []

    def start(env: dict[str, str] | None = None, data_dir: Path | None = None) -> RunningSystem:
        directory = data_dir or tmp_path_factory.mktemp("system") / "data"
        running = RunningSystem(directory, env).start()
        started.append(running)
        return running

    yield start
    with ThreadPoolExecutor(max_workers=max(1, len(started))) as pool:
        for future in [pool.submit(running.stop) for running in started]:
            with suppress(Exception):
                future.result()


@pytest.fixture
def http(system: RunningSystem) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.base_url, timeout=30.0) as client:
        yield client


def create_workspace(
    client: httpx.Client, admin_token: str, tier: str = "free", name: str | None = None
) -> dict[str, Any]:
    response = client.post(
        "/v1/admin/workspaces",
        json={"name": name or f"ws-{uuid4().hex[:12]}", "tier": tier},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def workspace(http: httpx.Client, system: RunningSystem) -> dict[str, Any]:
    """A fresh workspace: `workspaceId`, `workspaceName`, `tier`, `apiKey`."""
    return create_workspace(http, system.admin_token)
