"""Real targets for tunnel tests and benchmarks: a raw TCP echo server that answers a
half-close, and `python -m http.server` serving files from a directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from agentplane.testing.system import free_port

GOODBYE = b"BYE\n"


class EchoServer:
    """Echoes every byte; after the client's EOF it sends GOODBYE and closes (half-close).

    Counts the connections it accepted and those whose peer went away, so tests can see that
    a refused stream never reached it and that a visitor's close reached it.
    """

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self.ended = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn: socket.socket) -> None:
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    conn.sendall(GOODBYE)
                    break
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()
            with self._lock:
                self.ended += 1

    def close(self) -> None:
        self.sock.close()


class HttpTarget:
    """`python -m http.server` (it serves files with sendfile) on a free loopback port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
             "--directory", str(directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1.0)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def exchange(port: int, payload: bytes, timeout: float = 30.0) -> bytes:
    """Send payload, half-close, and read until the far end closes (b"" when it reset us:
    closing a socket with unread bytes in it resets the connection)."""

    def send() -> None:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the far end closed first: what it did is what the reader sees

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sender = threading.Thread(target=send)
        sender.start()
        received = bytearray()
        try:
            while chunk := sock.recv(262144):
                received += chunk
        except ConnectionResetError:
            pass
        sender.join()
        return bytes(received)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
