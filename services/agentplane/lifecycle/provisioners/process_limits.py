"""A PAP agent's `resources` as limits of its local process (the local provisioner).

What a Linux process offers in place of a container's requests and limits:

- `memory_limit` → RLIMIT_DATA (soft = hard): the process's data segment and private
  writable mappings (its heap) cannot grow past it; an allocation beyond fails (Python
  raises MemoryError). RLIMIT_AS would also count reserved address space that is never used
  (thread stacks, malloc arenas), which a Python process has a lot of.
- `cpu_request` → the process's nice level: Kubernetes turns a request into the CFS weight
  1024 per core (`cpu.shares`); the nice level with the nearest weight (each level 1.25 times)
  is log(1024 / weight) / log(1.25), clamped to 0 … 19 (an agent never gets more than the
  control plane's own priority). 1 core and more → 0, 500m → 3, 100m (the default) → 10.
- `cpu_limit` → a CPU quota (cgroup `cpu.max`, or `cpu.cfs_quota_us` on cgroup v1) when
  the machine has a cgroup CPU hierarchy this process may write (`cpu_cgroup`); otherwise
  it is not applied. RLIMIT_CPU is no substitute: it caps total CPU seconds, then kills.
- `memory_request` has no process equivalent (nothing reserves memory for a process).
"""

from __future__ import annotations

import math
import os
import resource
from dataclasses import dataclass

from agentplane.contracts.pap import PapResources
from agentplane.contracts.quantities import quantity

# CFS weight of one core (Kubernetes: cpu.shares = millicores * 1024 / 1000), and the ratio
# between the weights of adjacent nice levels (kernel/sched/core.c's sched_prio_to_weight).
WEIGHT_PER_CORE = 1024
NICE_STEP = 1.25
MAX_NICE = 19


@dataclass(frozen=True)
class ProcessLimits:
    """What the child process gets, computed before the fork."""

    memory_bytes: int | None  # RLIMIT_DATA; None: unlimited
    nice: int
    cpu_cores: float | None  # cpu_limit; a quota only where a cgroup can carry it

    def apply_in_child(self) -> None:  # pragma: no cover - runs in the forked child
        """Called between fork and exec (`preexec_fn`): only syscalls, no allocation-heavy
        work (the parent may have threads)."""
        if self.memory_bytes is not None:
            resource.setrlimit(resource.RLIMIT_DATA, (self.memory_bytes, self.memory_bytes))
        if self.nice:
            os.nice(self.nice)


def nice_of(cpu_request_cores: float) -> int:
    """The nice level whose CFS weight is nearest to that of a Kubernetes CPU request."""
    weight = max(2.0, cpu_request_cores * WEIGHT_PER_CORE)  # the kernel's minimum shares
    level = round(math.log(WEIGHT_PER_CORE / weight) / math.log(NICE_STEP))
    return min(MAX_NICE, max(0, level))


def limits_of(resources: PapResources) -> ProcessLimits:
    memory = int(quantity(resources.memory_limit))
    return ProcessLimits(
        memory_bytes=memory if memory > 0 else None,
        nice=nice_of(float(quantity(resources.cpu_request))),
        cpu_cores=float(quantity(resources.cpu_limit)) or None,
    )
