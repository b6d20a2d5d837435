"""`make run`'s launcher: NATS choice, clean shutdown on SIGTERM, nothing left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from agentplane.testing.nats import NatsServer
from agentplane.testing.system import RunningSystem, agentplane_command, free_port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent's wait() is missing.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@contextmanager
def _port_4222_taken() -> Iterator[None]:
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 4222))
        sock.listen()
    except OSError:
        pass  # already taken by someone else: just as good
    try:
        yield
    finally:
        sock.close()


def test_embedded_nats_moves_to_a_free_port_when_4222_is_taken(
    system_factory: Callable[..., RunningSystem],
) -> None:
    with _port_4222_taken():
        running = system_factory()
        assert not running.nats_url.endswith(":4222")
        assert httpx.get(f"{running.base_url}/health").status_code == 200


def test_nats_url_uses_an_existing_server(
    system_factory: Callable[..., RunningSystem], nats_server: NatsServer
) -> None:
    running = system_factory(env={"NATS_URL": nats_server.url})
    runtime = running.runtime()
    assert runtime["nats_url"] == nats_server.url
    assert runtime["nats_pid"] is None
    assert "using NATS at" in running.log()


def test_sigterm_stops_every_process_within_10_s(tmp_path: Path) -> None:
    running = RunningSystem(tmp_path / "data").start()
    runtime = running.runtime()
    pids = [runtime["nats_pid"], *runtime["pids"].values()]
    assert running.proc is not None
    started = time.monotonic()
    running.proc.send_signal(signal.SIGTERM)
    running.proc.wait(15)
    took = time.monotonic() - started
    assert took < 10.0, f"shutdown took {took:.1f}s"
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if _alive(pid)], "a child outlived the launcher"
    assert "[agentplane] stopped" in running.log()


def test_ready_output_names_the_api_and_docs(system: RunningSystem) -> None:
    log = system.log()
    assert f"API  {system.base_url}" in log
    assert f"docs {system.base_url}/docs" in log
    assert log.count("agentplane ready:") == 1
    assert httpx.get(f"{system.base_url}/docs").status_code == 200


def test_a_second_launcher_on_the_same_data_dir_refuses(system: RunningSystem) -> None:
    second = subprocess.run(
        [*agentplane_command(), "run"],
        env={**system.env(), "AGENTPLANE_HTTP_PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert "in use by agentplane run" in second.stderr
    # The running system was not disturbed.
    assert httpx.get(f"{system.base_url}/health").status_code == 200


def test_a_restarted_system_keeps_its_nats_port(tmp_path: Path) -> None:
    # First start on a free port (4222 taken); the restart keeps it though 4222 is free again:
    # agents were told that port.
    with _port_4222_taken():
        running = RunningSystem(tmp_path / "data").start()
        try:
            first = running.nats_url
        finally:
            running.stop()
    assert not first.endswith(":4222")
    again = RunningSystem(tmp_path / "data").start()
    try:
        assert again.nats_url == first
    finally:
        again.stop()
