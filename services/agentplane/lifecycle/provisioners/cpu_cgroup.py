"""CPU quotas for local agent processes through a cgroup CPU controller, when one is writable.

`find()` looks at this process's own cgroup in each mounted hierarchy (/proc/self/mountinfo,
/proc/self/cgroup): cgroup v2 when its `cpu` controller is available there and can be enabled
for children (`+cpu` in `cgroup.subtree_control`), else a cgroup v1 `cpu` hierarchy; either
only when the directory is writable (root, or a delegated subtree). Each agent then gets a
child cgroup `agentplane-<uuid>` with its quota (`cpu.max` = "<quota> <period>" on v2,
`cpu.cfs_quota_us` / `cpu.cfs_period_us` on v1) and the child process moves itself into it
before exec. Without such a hierarchy (`find()` is None) the CPU limit is not applied; the
local provisioner says so in its deploy message.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

log = logging.getLogger("agentplane.lifecycle")

PERIOD_US = 100_000
MIN_QUOTA_US = 1_000  # the kernel's minimum quota


@dataclass(frozen=True)
class CpuCgroups:
    """A writable cgroup directory under which agents' CPU cgroups are made."""

    base: Path
    version: int  # 1 or 2

    def create(self, agent_id: UUID, cores: float) -> Path:
        """The agent's cgroup with a quota of `cores` CPUs (made or updated); OSError if not."""
        group = self.base / f"agentplane-{agent_id}"
        group.mkdir(exist_ok=True)
        quota = max(MIN_QUOTA_US, int(cores * PERIOD_US))
        if self.version == 2:
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        return group

    def remove(self, agent_id: UUID) -> None:
        """Drop the agent's cgroup (its process has exited; an empty cgroup can go)."""
        with contextlib.suppress(FileNotFoundError):
            (self.base / f"agentplane-{agent_id}").rmdir()


def join_in_child(procs: str) -> None:  # pragma: no cover - runs in the forked child
    """Move the calling process (written as "0") into the cgroup whose `cgroup.procs` file
    is `procs`, before it execs."""
    fd = os.open(procs, os.O_WRONLY)
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)


def _mounts(mountinfo: str) -> list[tuple[str, str, str, str]]:
    """(mount root, mount point, fstype, super options) of each mount."""
    mounts = []
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if sep and len(fields) >= 5 and len(tail) >= 3:
            mounts.append((fields[3], fields[4], tail[0], tail[2]))
    return mounts


def _own_paths(proc_cgroup: str) -> dict[str, str]:
    """This process's cgroup path per hierarchy: "" for v2, else each v1 controller name."""
    paths = {}
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def _under(mount_point: str, mount_root: str, path: str) -> Path:
    relative = path[len(mount_root) :] if path.startswith(mount_root) else path
    return Path(mount_point) / relative.lstrip("/")


def _v2_usable(base: Path) -> bool:
    try:
        if "cpu" not in (base / "cgroup.controllers").read_text().split():
            return False
        subtree = base / "cgroup.subtree_control"
        if "cpu" not in subtree.read_text().split():
            subtree.write_text("+cpu")
        return os.access(base, os.W_OK)
    except OSError:
        return False


def find(
    mountinfo: Path = Path("/proc/self/mountinfo"), proc_cgroup: Path = Path("/proc/self/cgroup")
) -> CpuCgroups | None:
    """A cgroup CPU hierarchy this process may create children in, or None."""
    try:
        mounts = _mounts(mountinfo.read_text())
        own = _own_paths(proc_cgroup.read_text())
    except OSError:
        return None
    for root, point, fstype, _ in mounts:
        if fstype == "cgroup2" and "" in own:
            base = _under(point, root, own[""])
            if _v2_usable(base):
                return CpuCgroups(base, 2)
    for root, point, fstype, options in mounts:
        if fstype == "cgroup" and "cpu" in options.split(",") and "cpu" in own:
            base = _under(point, root, own["cpu"])
            if (base / "cpu.cfs_quota_us").exists() and os.access(base, os.W_OK):
                return CpuCgroups(base, 1)
    return None
