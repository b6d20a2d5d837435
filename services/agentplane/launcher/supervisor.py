"""`make run`: NATS, every service as its own process, the gateway; restarts what dies.

Children run in their own sessions so a terminal Ctrl-C reaches only the launcher, which then
stops them in order (gateway, services, NATS) within the shutdown budget. Each child also
gets SIGTERM if the launcher itself dies, so nothing is left running.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx

from agentplane.contracts.subjects import SERVICES
from agentplane.launcher.data_dir_lock import DataDirInUse, lock_data_dir
from agentplane.launcher.nats_server import EmbeddedNats
from agentplane.security.admin import admin_token
from agentplane.settings import Settings

RUNTIME_FILE = "runtime.json"
SHUTDOWN_BUDGET = 8.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class Child:
    name: str
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0


@dataclass
class Launcher:
    settings: Settings
    nats: EmbeddedNats | None = None
    nats_url: str = ""
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def say(self, line: str) -> None:
        print(f"[agentplane] {line}", flush=True)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["NATS_URL"] = self.nats_url
        env["AGENTPLANE_DATA_DIR"] = str(self.settings.service_data_dir())
        env["AGENTPLANE_HTTP_PORT"] = str(self.settings.http_port)
        env["AGENTPLANE_HTTP_HOST"] = self.settings.http_host
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def spawn(self, child: Child) -> None:
        child.proc = subprocess.Popen(child.args, env=self.env(), preexec_fn=_die_with_parent)
        child.started_at = time.monotonic()
        self.write_runtime()

    def write_runtime(self) -> None:
        runtime = {
            # No credential here: clients take theirs from `agentplane nats-credentials`.
            "nats_url": self.nats_url,
            "nats_websocket_url": self.nats.websocket_url if self.nats else None,
            "http_url": f"http://{self.settings.http_host}:{self.settings.http_port}",
            "launcher_pid": os.getpid(),
            "nats_pid": self.nats.proc.pid if self.nats and self.nats.proc else None,
            "pids": {c.name: c.proc.pid for c in self.children if c.proc},
        }
        path = self.settings.service_data_dir() / RUNTIME_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(runtime, indent=2))
        tmp.replace(path)

    def start(self) -> None:
        data_dir = self.settings.service_data_dir()
        if self.settings.nats_url:
            self.nats_url = self.settings.nats_url
            self.say(f"using NATS at {self.nats_url}")
        else:
            self.nats = EmbeddedNats(
                data_dir,
                preexec=_die_with_parent,
                websocket_port=self.settings.nats_websocket_port,
                max_payload=self.settings.nats_max_payload,
            )
            self.nats_url = self.nats.start()
            self.say(f"nats-server with JetStream on {self.nats_url} (store {self.nats.dir})")
            if self.nats.websocket_url:
                self.say(f"NATS WebSocket listener on {self.nats.websocket_url}")
        python = sys.executable
        self.children = [Child(s, [python, "-m", f"agentplane.{s}"]) for s in SERVICES]
        self.children.append(Child("gateway", [python, "-m", "agentplane.gateway"]))
        if self.settings.tls_port:
            # mTLS for agent endpoints: a TLS terminator in front of the gateway.
            self.children.append(Child("tls", [python, "-m", "agentplane.gateway.tls"]))
        for child in self.children:
            self.spawn(child)

    def wait_ready(self, timeout: float = 60.0) -> bool:
        url = f"http://{self.settings.http_host}:{self.settings.http_port}/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping:
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            self.supervise_once()
            time.sleep(0.1)
        return False

    def supervise_once(self) -> None:
        now = time.monotonic()
        if self.nats and not self.nats.alive() and not self.stopping:
            self.say("nats-server exited; restarting it")
            self.nats.start()
            self.write_runtime()
        for child in self.children:
            if self.stopping or child.proc is None or child.proc.poll() is None:
                continue
            if child.next_start == 0.0:
                # Back off when a process keeps dying right after start.
                quick = now - child.started_at < 5.0
                delay = min(5.0, 0.5 * (2 ** min(child.restarts, 4))) if quick else 0.2
                child.next_start = now + delay
                self.say(f"{child.name} exited with {child.proc.returncode}; restarting")
            elif now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                self.spawn(child)

    def stop(self) -> None:
        self.stopping = True
        deadline = time.monotonic() + SHUTDOWN_BUDGET
        # Gateway first (no new requests), then services (relays flush), NATS last.
        order = [c for c in self.children if c.name == "gateway"]
        order += [c for c in self.children if c.name != "gateway"]
        for group in (order[:1], order[1:]):
            for child in group:
                if child.proc and child.proc.poll() is None:
                    child.proc.terminate()
            for child in group:
                if child.proc is None:
                    continue
                try:
                    child.proc.wait(max(0.1, deadline - time.monotonic() - 1.0))
                except subprocess.TimeoutExpired:
                    child.proc.kill()
                    child.proc.wait()
        if self.nats:
            self.nats.stop(timeout=max(0.1, deadline - time.monotonic()))
        self.say("stopped")


def run(settings: Settings) -> int:
    try:
        held = lock_data_dir(settings.service_data_dir())
    except DataDirInUse as exc:
        print(f"[agentplane] {exc}", file=sys.stderr, flush=True)
        return 1
    launcher = Launcher(settings)

    def on_signal(signum: int, _frame: object) -> None:
        launcher.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    token, generated = admin_token(settings)
    try:
        launcher.start()
        if launcher.wait_ready():
            base = f"http://{settings.http_host}:{settings.http_port}"
            if generated:
                path = settings.service_data_dir() / "admin_token"
                launcher.say(f"admin token (stored in {path}): {token}")
            launcher.say(f"API  {base}")
            if settings.tls_port:
                launcher.say(f"mTLS https://{settings.tls_host}:{settings.tls_port}")
            launcher.say(f"docs {base}/docs")
            launcher.say(f"agentplane ready: {base} (data in {settings.service_data_dir()})")
        elif not launcher.stopping:
            launcher.say("not ready after 60 s; still trying (GET /health says what is missing)")
        while not launcher.stopping:
            launcher.supervise_once()
            time.sleep(0.2)
    finally:
        launcher.stop()
        held.close()
    return 0


def main() -> None:
    sys.exit(run(Settings()))


if __name__ == "__main__":
    main()
