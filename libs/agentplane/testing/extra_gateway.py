"""One more gateway replica of a running system: `python -m agentplane.gateway` on its own port,
against the system's NATS and data dir (admin token, NATS credential, forwarding secret), with
settings of its own. Replicas started this way share the system's services, like the
replicas of a deployment behind a load balancer do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from agentplane.testing.system import EXTRA_LOGS, RunningSystem, free_port


class ExtraGateway:
    """A gateway process beside `system`'s own; `stop()` ends it."""

    def __init__(self, system: RunningSystem, env: dict[str, str] | None = None) -> None:
        self.system = system
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.extra_env = env or {}
        self.log_path = system.data_dir.parent / f"gateway-{self.port}.log"
        EXTRA_LOGS.append(self.log_path)
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTPLANE_")}
        env.update(
            NATS_URL=self.system.nats_url,
            AGENTPLANE_DATA_DIR=str(self.system.data_dir),
            AGENTPLANE_HTTP_PORT=str(self.port),
            AGENTPLANE_LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0) -> ExtraGateway:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentplane.gateway"],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"gateway not healthy after {timeout}s:\n{self.log()[-4000:]}")

    def log(self) -> str:
        path = Path(self.log_path)
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
