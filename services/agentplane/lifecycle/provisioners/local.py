"""`AGENTPLANE_PROVISIONER=local`: each PAP agent is the reference agent as a local process.

Deploy starts `agentplane agent run --pap <uuid>` (the workspace key in its environment only,
never on its command line or in a file); the agent is PROVISIONED once the process is up and
ACTIVE on its first heartbeat, which it sends at once. Remove is the drain: SIGTERM, the agent
finishes what it is doing and exits; one that has not exited within the stop wait is killed
(SIGKILL) and the agent is KILLED rather than TERMINATED.

A container image cannot run here: `image` is recorded, not used. `resources` become limits
of the process (`process_limits`: memory_limit → RLIMIT_DATA, cpu_request → nice level,
cpu_limit → a cgroup CPU quota where a cgroup CPU hierarchy is writable). The processes
die with the lifecycle service (Linux parent-death signal, and its stop hook); agents left
behind by a crash go UNHEALTHY and are KILLED.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from agentplane.contracts.pap import PAP_AGENT_READY, PapResources
from agentplane.lifecycle.provisioners import cpu_cgroup
from agentplane.lifecycle.provisioners.cpu_cgroup import CpuCgroups
from agentplane.lifecycle.provisioners.port import Outcome
from agentplane.lifecycle.provisioners.process_limits import ProcessLimits, limits_of

log = logging.getLogger("agentplane.lifecycle")

API_KEY_ENV = "AGENTPLANE_PAP_API_KEY"
# How long deploy waits for a started process to say it runs (signal handlers installed, so a
# drain right after is graceful); a process still starting then counts as up unless it exits.
UP_WITHIN_SECONDS = 2.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _child_setup(limits: ProcessLimits, cgroup_procs: str | None) -> Callable[[], None]:
    """What the child does between fork and exec: die with us, take its limits, join its
    CPU cgroup (a failure there fails the start, which deploy reports)."""

    def setup() -> None:  # pragma: no cover - runs in the child
        _die_with_parent()
        limits.apply_in_child()
        if cgroup_procs is not None:
            cpu_cgroup.join_in_child(cgroup_procs)

    return setup


class LocalProvisioner:
    name = "local"

    def __init__(
        self,
        server_url: str,
        log_dir: Path,
        stop_wait: float,
        cgroups: CpuCgroups | None = None,
    ) -> None:
        self.server_url = server_url
        self.log_dir = log_dir
        self.stop_wait = stop_wait
        # Where CPU limits go (None: no writable cgroup CPU hierarchy; they are not applied).
        self.cgroups = cgroups
        self.processes: dict[UUID, subprocess.Popen[bytes]] = {}

    def deploy(
        self,
        agent_id: UUID,
        agent_name: str,
        api_key: str | None = None,
        image: str | None = None,
        resources: PapResources | None = None,
    ) -> Outcome:
        if not api_key:
            return Outcome(False, f"Agent {agent_name} not started: no workspace key to run it")
        running = self.processes.get(agent_id)
        if running is not None and running.poll() is None:
            return Outcome(True, f"Agent {agent_name} runs as local process {running.pid}")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTPLANE_", "NATS"))}
        env[API_KEY_ENV] = api_key
        self.log_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "agentplane.cli", "agent", "run",
                   "--server", self.server_url, "--pap", str(agent_id)]  # fmt: skip
        log_path = self.log_dir / f"{agent_id}.log"
        offset = log_path.stat().st_size if log_path.exists() else 0
        limits = limits_of(resources or PapResources())
        try:
            cgroup = self._cpu_cgroup(agent_id, limits.cpu_cores)
        except OSError as exc:
            return Outcome(False, f"Agent {agent_name} not started: its CPU cgroup failed: {exc}")
        setup = _child_setup(limits, str(cgroup / "cgroup.procs") if cgroup else None)
        with open(log_path, "ab") as output:
            try:
                process = subprocess.Popen(
                    command, env=env, stdout=output, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, preexec_fn=setup,
                )  # fmt: skip
            except (OSError, subprocess.SubprocessError) as exc:
                self._drop_cgroup(agent_id)
                return Outcome(False, f"Agent {agent_name} could not be started: {exc}")
        self.processes[agent_id] = process
        if not self._up(process, log_path, offset):
            self.processes.pop(agent_id, None)
            self._drop_cgroup(agent_id)
            return Outcome(
                False, f"Agent {agent_name} exited at start (exit code {process.returncode})"
            )
        log.info("started PAP agent %s as process %d (%s)", agent_id, process.pid, limits)
        return Outcome(True, f"Agent {agent_name} deployed as local process {process.pid}")

    def _cpu_cgroup(self, agent_id: UUID, cores: float | None) -> Path | None:
        if self.cgroups is None or cores is None:
            return None
        return self.cgroups.create(agent_id, cores)

    def _drop_cgroup(self, agent_id: UUID) -> None:
        if self.cgroups is not None:
            try:
                self.cgroups.remove(agent_id)
            except OSError as exc:  # still busy (a process left in it): keep it, say so
                log.warning("cgroup of agent %s not removed: %s", agent_id, exc)

    @staticmethod
    def _up(process: subprocess.Popen[bytes], log_path: Path, offset: int) -> bool:
        """False when the process exited; True once it says it runs, or is still starting."""
        deadline = time.monotonic() + UP_WITHIN_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            with open(log_path, "rb") as output:
                output.seek(offset)
                if PAP_AGENT_READY.encode() in output.read():
                    return True
            time.sleep(0.05)
        return process.poll() is None

    def remove(self, agent_id: UUID, agent_name: str) -> Outcome:
        process = self.processes.pop(agent_id, None)
        if process is None or process.poll() is not None:
            self._drop_cgroup(agent_id)
            return Outcome(False, f"Agent {agent_name} had no running process; nothing to delete")
        process.terminate()  # the drain
        try:
            process.wait(self.stop_wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            self._drop_cgroup(agent_id)
            return Outcome(
                True,
                f"Agent {agent_name} did not drain within {self.stop_wait:g} s; its process "
                f"{process.pid} was killed",
                forced=True,
            )
        self._drop_cgroup(agent_id)
        if process.returncode == 0:
            return Outcome(True, f"Agent {agent_name} drained; its process {process.pid} exited")
        return Outcome(
            True,
            f"Agent {agent_name} stopped; its process {process.pid} exited "
            f"(code {process.returncode})",
        )

    def stop_all(self) -> None:
        """The service stops: so do the agents it started (all asked at once, then waited for)."""
        running, self.processes = dict(self.processes), {}
        for process in running.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + self.stop_wait
        for agent_id, process in running.items():
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self._drop_cgroup(agent_id)
