"""One tunnel stream: bytes both ways between two connection ends, each direction in its own
thread, until both directions ended (half-close is carried: EOF one way shuts only that way).

Between two plain sockets the bytes never enter Python: `os.splice` moves them through a pipe
inside the kernel. A TLS end needs user space (OpenSSL), so those copy through one buffer.
An error on either end (a reset, a broken pipe, a TLS failure) aborts the whole stream.
"""

from __future__ import annotations

import fcntl
import logging
import os
import ssl
import threading
from collections.abc import Callable

from agentplane.relay.ends import PlainEnd

log = logging.getLogger("agentplane.relay")

CHUNK = 256 * 1024
PIPE_SIZE = 1024 * 1024
# Linux's F_SETPIPE_SZ (the fcntl module names it from Python 3.10 on some builds only).
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def _splice(src: PlainEnd, dst: PlainEnd, counted: list[int], index: int) -> None:
    read_fd, write_fd = os.pipe()
    try:
        try:
            fcntl.fcntl(write_fd, F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass  # above /proc/sys/fs/pipe-max-size: the default 64 KB pipe still works
        src_fd, dst_fd = src.fileno(), dst.fileno()
        while True:
            n = os.splice(src_fd, write_fd, PIPE_SIZE)
            if n == 0:
                return
            counted[index] += n
            while n:
                n -= os.splice(read_fd, dst_fd, n)
    finally:
        os.close(read_fd)
        os.close(write_fd)


def _copy(src: PlainEnd, dst: PlainEnd, counted: list[int], index: int) -> None:
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        n = src.read_into(buf)
        if not n:
            return
        counted[index] += n
        dst.write(view[:n])


class Stream:
    """Relays `a` ⇄ `b`; `on_closed` runs (in a relay thread) once both ends are closed."""

    def __init__(
        self,
        a: PlainEnd,
        b: PlainEnd,
        on_closed: Callable[[Stream], None] | None = None,
        label: str = "stream",
    ) -> None:
        self.a = a
        self.b = b
        self.on_closed = on_closed
        self.label = label
        # Bytes a → b and b → a.
        self.counted = [0, 0]
        self.aborted = False
        self._lock = threading.Lock()
        self._finished = 0
        self.closed = threading.Event()

    def start(self) -> None:
        for index, (src, dst) in enumerate(((self.a, self.b), (self.b, self.a))):
            threading.Thread(
                target=self._direction, args=(src, dst, index),
                name=f"{self.label}-{index}", daemon=True,
            ).start()  # fmt: skip

    def _direction(self, src: PlainEnd, dst: PlainEnd, index: int) -> None:
        plain = not src.tls and not dst.tls and not src.has_pushback()
        try:
            (_splice if plain else _copy)(src, dst, self.counted, index)
            dst.shutdown_write()
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            if not self.aborted:
                log.debug("%s direction %d ended: %s", self.label, index, type(exc).__name__)
            self.abort()
        with self._lock:
            self._finished += 1
            last = self._finished == 2
        if last:
            self.a.close()
            self.b.close()
            self.closed.set()
            if self.on_closed is not None:
                self.on_closed(self)

    def abort(self) -> None:
        """End both directions now (either side left, the agent is gone, the route removed)."""
        self.aborted = True
        self.a.abort()
        self.b.abort()
