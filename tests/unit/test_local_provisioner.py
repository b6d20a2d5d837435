"""The local provisioner starts the reference agent in PAP mode and drains it on removal."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from uuid import uuid4

from agentplane.contracts.pap import PAP_AGENT_READY
from agentplane.lifecycle.provisioners.local import LocalProvisioner


def unused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_deploy_starts_a_process_and_remove_drains_it(tmp_path: Path) -> None:
    local = LocalProvisioner(unused_url(), tmp_path, stop_wait=10.0)
    agent = uuid4()
    deployed = local.deploy(agent, "my-agent", "pc_test_key")
    assert deployed.done, deployed.message
    process = local.processes[agent]
    assert process.poll() is None
    assert f"local process {process.pid}" in deployed.message
    # The key is in the child's environment only, never on its command line.
    assert "pc_test_key" not in " ".join(map(str, process.args))
    environ = Path(f"/proc/{process.pid}/environ").read_bytes()
    assert b"AGENTPLANE_PAP_API_KEY=pc_test_key" in environ
    # Deploy waits up to 2 s for the agent to say it runs; on a loaded machine, wait longer.
    deadline = time.monotonic() + 30
    while PAP_AGENT_READY.encode() not in (tmp_path / f"{agent}.log").read_bytes():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.1)
    removed = local.remove(agent, "my-agent")
    assert removed.done and not removed.forced, removed.message
    assert process.poll() == 0  # drained: exited on SIGTERM
    assert not local.remove(agent, "my-agent").done  # nothing left to remove


def test_no_key_no_process(tmp_path: Path) -> None:
    local = LocalProvisioner(unused_url(), tmp_path, stop_wait=1.0)
    outcome = local.deploy(uuid4(), "my-agent", None)
    assert not outcome.done and "no workspace key" in outcome.message
    assert local.processes == {}
    assert os.listdir(tmp_path) == []


def test_stop_all_stops_every_agent(tmp_path: Path) -> None:
    local = LocalProvisioner(unused_url(), tmp_path, stop_wait=10.0)
    for n in range(2):
        assert local.deploy(uuid4(), f"agent-{n}", "pc_test_key").done
    processes = list(local.processes.values())
    local.stop_all()
    assert local.processes == {}
    assert all(p.poll() is not None for p in processes)
