"""The whole system as processes, started exactly as `make run` starts it (`agentplane run`)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.client import Client

from agentplane.security import nats_credentials
from agentplane.testing.port_slots import reserve_tunnel_slot

READY_MARK = "agentplane ready:"
# Every system a test session started: the end-of-suite secret scan reads their data dirs
# (event stores, views, JetStream store) and logs.
STARTED: list[RunningSystem] = []
# Logs of other processes a test ran against those systems (agents): scanned the same way.
EXTRA_LOGS: list[Path] = []
# Failed authentications per address and minute that the suite's systems allow (production:
# 60). Beyond what the suite can send from its one address: the fuzz test sends some 1,400
# requests in its 70 s, and one gateway process answers a few thousand requests a second at
# most, so a minute never holds a million 401s. Not 0 (off): the throttle's bookkeeping runs
# on every failure of the suite, and its counts travel to every replica as in production.
SUITE_AUTH_FAILURE_LIMIT = 1_000_000


def register_log(path: Path) -> Path:
    """Add a log file to the end-of-suite secret scan (e.g. an agent's output)."""
    EXTRA_LOGS.append(path)
    return path


# Ports a system will listen on come from below the kernel's ephemeral range (32768+ here):
# a port picked there (bind to 0) can be taken by any outgoing connection before the server
# binds it, and a long-lived one (a NATS client) then blocks the listener for good. Tunnel port
# ranges (port_slots) sit above this block.
LISTEN_PORTS = range(5000, 10000)
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now, not handed out before by this process."""
    for _ in range(1000):
        port = random.choice(LISTEN_PORTS)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free port in {LISTEN_PORTS}")


def agentplane_command() -> list[str]:
    """The console script `make run` calls, from the running interpreter's venv."""
    script = Path(sys.executable).parent / "agentplane"
    return [str(script)] if script.exists() else [sys.executable, "-m", "agentplane.cli"]


class RunningSystem:
    """`agentplane run` in a subprocess with its own data dir and HTTP port."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-run.log"
        self.base_url = f"http://127.0.0.1:{self.port}"
        # Tunnel ports of its own, reserved across processes: systems side by side on one
        # machine must not both listen on one port.
        self.tunnel_slot = reserve_tunnel_slot()
        self.tunnel_ports = self.tunnel_slot.ports
        # The edge's public HTTP listener (pc-<subdomain>.localhost by Host header).
        self.public_http_port = free_port()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTPLANE_")}
        env.pop("NATS_URL", None)
        env.update(
            AGENTPLANE_DATA_DIR=str(self.data_dir),
            AGENTPLANE_HTTP_PORT=str(self.port),
            AGENTPLANE_TUNNEL_PORTS=self.tunnel_ports,
            AGENTPLANE_PUBLIC_HTTP_PORT=str(self.public_http_port),
            PYTHONUNBUFFERED="1",
            # Tests drive PAP agents by hand, like the document's curl examples; a system
            # that should start real agent processes asks for the local provisioner.
            AGENTPLANE_PROVISIONER="none",
            # The suite's tests send thousands of requests with one free-tier key: only the
            # seed 004 routes are limited per workspace (their tests check the tiers).
            AGENTPLANE_RATE_LIMIT_SCOPE="pap",
            # They also fail authentication on purpose from one address (the fuzz test about
            # a third of its requests): failures are counted and shared as in production, but
            # the limit is one the suite cannot reach (SUITE_AUTH_FAILURE_LIMIT). The
            # rate-limit tests start gateways of their own with the production settings
            # (`extra_gateway`) and prove the 429 there.
            AGENTPLANE_AUTH_FAILURE_LIMIT_PER_MINUTE=str(SUITE_AUTH_FAILURE_LIMIT),
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 90.0) -> RunningSystem:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        STARTED.append(self)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [*agentplane_command(), "run"], env=self.env(), stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        try:
            self.wait_healthy(timeout)
            # The launcher prints its ready line after its own health check succeeds.
            deadline = time.monotonic() + timeout
            while READY_MARK not in self.log():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no ready line from agentplane run:\n{self.log()[-4000:]}")
                time.sleep(0.05)
        except BaseException:
            # A fixture whose setup failed is never torn down: a system left running here
            # would outlive the test run and load the machine.
            with suppress(Exception):
                self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"agentplane run exited early:\n{self.log()}")
            try:
                response = httpx.get(f"{self.base_url}/health", timeout=2.0)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise TimeoutError(f"system not healthy after {timeout}s: {last}\n{self.log()[-4000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def runtime(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "runtime.json").read_text())

    @property
    def nats_url(self) -> str:
        return str(self.runtime()["nats_url"])

    def nats_credentials(self, role: str = "service") -> dict[str, str | None]:
        """`{url, user, password}` of a role (`service`, `observer`), like
        `agentplane nats-credentials`; user and password are None with an anonymous NATS."""
        stored = nats_credentials.load(self.data_dir)
        user = password = None
        if stored is not None and role == "service":
            user, password = nats_credentials.SERVICE_USER, stored.service_password
        elif stored is not None and role == "observer":
            user, password = nats_credentials.OBSERVER_USER, stored.observer_password
        elif stored is not None:
            raise ValueError(f"unknown role {role!r}")
        return {"url": self.nats_url, "user": user, "password": password}

    async def nats_connect(self, role: str = "service", **options: Any) -> Client:
        """A nats-py client of this system's NATS with the role's credential."""
        credential = self.nats_credentials(role)
        return await nats.connect(
            str(credential["url"]), user=credential["user"], password=credential["password"],
            **options,
        )  # fmt: skip

    async def consumers_drained(self, timeout: float = 30.0) -> bool:
        """Until every durable consumer of the event stream has been sent and has acknowledged
        everything in it (False after `timeout`): views fed by events are then complete."""
        from agentplane.contracts.streams import EVENTS_STREAM

        nc = await self.nats_connect()
        try:
            js = nc.jetstream()
            deadline = time.monotonic() + timeout
            while True:
                consumers = await js.consumers_info(EVENTS_STREAM)
                if all(c.num_pending == 0 and c.num_ack_pending == 0 for c in consumers):
                    return True
                if time.monotonic() > deadline:
                    return False
                await asyncio.sleep(0.2)
        finally:
            await nc.close()

    def shared_nats_env(self) -> dict[str, str]:
        """Settings for another system that runs on this system's NATS (`system_factory`).

        Only the service credential: the other system's registry, which knows other agents,
        must not join this one's auth callout queue group.
        """
        stored = nats_credentials.load(self.data_dir)
        env = {"NATS_URL": self.nats_url}
        if stored is not None:
            env |= {
                "AGENTPLANE_NATS_USER": nats_credentials.SERVICE_USER,
                "AGENTPLANE_NATS_PASSWORD": stored.service_password,
            }
        return env

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin_token").read_text().strip()

    def pid_of(self, service: str) -> int:
        return int(self.runtime()["pids"][service])

    def signal_service(self, service: str, sig: int) -> int:
        pid = self.pid_of(service)
        os.kill(pid, sig)
        return pid

    def wait_restarted(self, service: str, old_pid: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.pid_of(service) != old_pid:
                    self.wait_healthy(timeout)
                    return
            except (KeyError, ValueError, json.JSONDecodeError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{service} was not restarted")

    def stop(self, timeout: float = 15.0) -> float:
        """SIGINT like Ctrl-C; return how long the shutdown took."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        return time.monotonic() - started

    def cli(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run the `agentplane` CLI against this system's data dir."""
        return subprocess.run(
            agentplane_command() + list(args),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
