"""`AGENTPLANE_PROVISIONER=local`: each PAP agent is the reference agent as a local process.

Deploy starts `agentplane agent run --pap <uuid>` (the workspace key in its environment only,
never on its command line or in a file); the agent is PROVISIONED once the process is up and
ACTIVE on its first heartbeat, which it sends at once. Remove is the drain: SIGTERM, the agent
finishes what it is doing and exits; one that has not exited within the stop wait is killed
(SIGKILL) and the agent is KILLED rather than TERMINATED.

A container image cannot run here: `image` is recorded, not used. `resources` are not applied
as process limits yet. The processes die with the lifecycle service (Linux parent-death
signal, and its stop hook); agents left behind by a crash go UNHEALTHY and are KILLED.
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
from pathlib import Path
from uuid import UUID

from agentplane.contracts.pap import PAP_AGENT_READY, PapResources
from agentplane.lifecycle.provisioners.port import Outcome

log = logging.getLogger("agentplane.lifecycle")

API_KEY_ENV = "AGENTPLANE_PAP_API_KEY"
# How long deploy waits for a started process to say it runs (signal handlers installed, so a
# drain right after is graceful); a process still starting then counts as up unless it exits.
UP_WITHIN_SECONDS = 2.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class LocalProvisioner:
    name = "local"

    def __init__(self, server_url: str, log_dir: Path, stop_wait: float) -> None:
        self.server_url = server_url
        self.log_dir = log_dir
        self.stop_wait = stop_wait
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
        with open(log_path, "ab") as output:
            try:
                process = subprocess.Popen(
                    command, env=env, stdout=output, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
                )  # fmt: skip
            except OSError as exc:
                return Outcome(False, f"Agent {agent_name} could not be started: {exc}")
        self.processes[agent_id] = process
        if not self._up(process, log_path, offset):
            self.processes.pop(agent_id, None)
            return Outcome(
                False, f"Agent {agent_name} exited at start (exit code {process.returncode})"
            )
        log.info("started PAP agent %s as process %d", agent_id, process.pid)
        return Outcome(True, f"Agent {agent_name} deployed as local process {process.pid}")

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
            return Outcome(False, f"Agent {agent_name} had no running process; nothing to delete")
        process.terminate()  # the drain
        try:
            process.wait(self.stop_wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return Outcome(
                True,
                f"Agent {agent_name} did not drain within {self.stop_wait:g} s; its process "
                f"{process.pid} was killed",
                forced=True,
            )
        if process.returncode == 0:
            return Outcome(True, f"Agent {agent_name} drained; its process {process.pid} exited")
        return Outcome(
            True,
            f"Agent {agent_name} stopped; its process {process.pid} exited "
            f"(code {process.returncode})",
        )

    def stop_all(self) -> None:
        """The service stops: so do the agents it started (all asked at once, then waited for)."""
        processes, self.processes = list(self.processes.values()), {}
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + self.stop_wait
        for process in processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
