"""`agentplane agent run` as a subprocess for e2e tests; its log joins the secret scan."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from agentplane.testing.system import agentplane_command, register_log


class AgentProcess:
    def __init__(self, state_dir: Path, log_path: Path) -> None:
        self.state_dir = state_dir
        self.log_path = register_log(log_path)
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self, *args: str) -> AgentProcess:
        log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [*agentplane_command(), "agent", "run", "--state-dir", str(self.state_dir), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def identity(self) -> dict[str, Any]:
        return dict(json.loads((self.state_dir / "identity.json").read_text()))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def interrupt(self, timeout: float = 10.0) -> float:
        """Ctrl-C; how long the process took to exit."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
