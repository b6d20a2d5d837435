"""The local provisioner starts the reference agent in PAP mode and drains it on removal."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from uuid import uuid4

import pytest

from agentplane.contracts.pap import PAP_AGENT_READY, PapResources
from agentplane.lifecycle.provisioners import cpu_cgroup
from agentplane.lifecycle.provisioners.local import LocalProvisioner
from agentplane.lifecycle.provisioners.process_limits import ProcessLimits, limits_of


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


def proc_limit(pid: int, name: str) -> tuple[str, str]:
    """(soft, hard) of one line of /proc/<pid>/limits, e.g. "Max data size"."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith(name):
            soft, hard = line[len(name) :].split()[:2]
            return soft, hard
    raise AssertionError(f"{name} not in /proc/{pid}/limits")


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_resources_become_limits_of_the_started_process(tmp_path: Path) -> None:
    """memory_limit → RLIMIT_DATA, cpu_request → nice, cpu_limit → a cgroup CPU quota where
    this machine has a writable cgroup CPU hierarchy (the test says which it found)."""
    cgroups = cpu_cgroup.find()
    local = LocalProvisioner(unused_url(), tmp_path, stop_wait=10.0, cgroups=cgroups)
    agent = uuid4()
    resources = PapResources(cpu_request="500m", cpu_limit="250m", memory_limit="768Mi")
    deployed = local.deploy(agent, "limited", "pc_test_key", resources=resources)
    assert deployed.done, deployed.message
    pid = local.processes[agent].pid
    try:
        assert proc_limit(pid, "Max data size") == (str(768 * 2**20), str(768 * 2**20))
        assert niceness(pid) == os.nice(0) + 3  # 500m → weight 512 → 3 levels below ours
        if cgroups is not None:
            group = cgroups.base / f"agentplane-{agent}"
            assert f"agentplane-{agent}" in Path(f"/proc/{pid}/cgroup").read_text()
            if cgroups.version == 2:
                assert (group / "cpu.max").read_text().split() == ["25000", "100000"]
            else:
                assert (group / "cpu.cfs_quota_us").read_text().strip() == "25000"
                assert (group / "cpu.cfs_period_us").read_text().strip() == "100000"
    finally:
        assert local.remove(agent, "limited").done
    if cgroups is not None:
        assert not (cgroups.base / f"agentplane-{agent}").exists()


def test_a_memory_limit_too_small_to_start_is_reported(tmp_path: Path) -> None:
    """The limit is real: an interpreter cannot start within 4 MiB of data, and deploy says
    the agent exited instead of claiming it runs."""
    local = LocalProvisioner(unused_url(), tmp_path, stop_wait=1.0)
    resources = PapResources(memory_request="1Mi", memory_limit="4Mi")
    outcome = local.deploy(uuid4(), "tiny", "pc_test_key", resources=resources)
    assert not outcome.done and "exited at start" in outcome.message, outcome.message
    assert local.processes == {}


@pytest.mark.parametrize(
    ("cpu_request", "nice"),
    [("4", 0), ("1", 0), ("1000m", 0), ("500m", 3), ("250m", 6), ("100m", 10), ("1m", 19)],
)
def test_cpu_request_maps_to_the_nice_level_of_the_nearest_weight(
    cpu_request: str, nice: int
) -> None:
    assert limits_of(PapResources(cpu_request=cpu_request)).nice == nice


def test_default_resources() -> None:
    assert limits_of(PapResources()) == ProcessLimits(memory_bytes=2**30, nice=10, cpu_cores=1.0)


def fake_hierarchy(tmp_path: Path, mount: str, fstype: str, options: str, own: str) -> Path:
    (tmp_path / "mountinfo").write_text(
        "22 1 0:5 / /proc rw - proc proc rw\n"
        f"40 31 0:37 / {mount} rw,relatime - {fstype} {fstype} {options}\n"
    )
    (tmp_path / "cgroup").write_text(own)
    return tmp_path


def test_finds_a_writable_cgroup_v2_and_enables_cpu_for_children(tmp_path: Path) -> None:
    mount = tmp_path / "unified"
    base = mount / "service"
    base.mkdir(parents=True)
    (base / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (base / "cgroup.subtree_control").write_text("\n")
    fake_hierarchy(tmp_path, str(mount), "cgroup2", "rw", "0::/service\n")
    found = cpu_cgroup.find(tmp_path / "mountinfo", tmp_path / "cgroup")
    assert found == cpu_cgroup.CpuCgroups(base, 2)
    assert (base / "cgroup.subtree_control").read_text() == "+cpu"
    agent = uuid4()
    group = found.create(agent, 1.5)
    assert (group / "cpu.max").read_text() == "150000 100000"
    (group / "cpu.max").unlink()  # a real cgroup directory goes with its control files
    found.remove(agent)
    assert not group.exists()


def test_cgroup_v2_without_the_cpu_controller_falls_back_to_v1(tmp_path: Path) -> None:
    v2, v1 = tmp_path / "unified", tmp_path / "cpu"
    v2.mkdir()
    (v2 / "cgroup.controllers").write_text("\n")  # no controllers delegated (like here)
    (v1 / "agents").mkdir(parents=True)
    (v1 / "agents" / "cpu.cfs_quota_us").write_text("-1\n")
    (tmp_path / "mountinfo").write_text(
        f"41 31 0:38 / {v2} rw,relatime - cgroup2 cgroup2 rw\n"
        f"32 31 0:29 / {v1} rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    )
    (tmp_path / "cgroup").write_text("1:cpu,cpuacct:/agents\n0::/\n")
    found = cpu_cgroup.find(tmp_path / "mountinfo", tmp_path / "cgroup")
    assert found == cpu_cgroup.CpuCgroups(v1 / "agents", 1)


def test_no_cpu_hierarchy_means_no_quota(tmp_path: Path) -> None:
    fake_hierarchy(tmp_path, str(tmp_path / "mem"), "cgroup", "rw,memory", "4:memory:/\n")
    assert cpu_cgroup.find(tmp_path / "mountinfo", tmp_path / "cgroup") is None
    assert cpu_cgroup.find(tmp_path / "missing", tmp_path / "cgroup") is None
