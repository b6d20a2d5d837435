"""Tunnel port ranges for test systems that never overlap, even across test processes.

Each system's edge listens on the tunnel ports its registry allocates. Two systems on one
machine (a module's two systems, or another test run beside this one) that picked the same
range would accept each other's visitors. A range is held by an exclusive lock on a file of its
own for as long as the system lives; the lock goes with the process, so a crashed run frees it.
"""

from __future__ import annotations

import fcntl
import random
import tempfile
from pathlib import Path
from typing import IO

# Below the ephemeral range (32768+), where `free_port()` picks HTTP and NATS ports.
FIRST_PORT = 10000
SLOT_SIZE = 100
SLOTS = 220  # 10000-31999


class TunnelSlot:
    """One reserved range; `release()` (or the process's exit) frees it."""

    def __init__(self, first: int, lock: IO[bytes]) -> None:
        self.first = first
        self._lock: IO[bytes] | None = lock

    @property
    def ports(self) -> str:
        return f"{self.first}-{self.first + SLOT_SIZE - 1}"

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file drops its lock
            self._lock = None


def reserve_tunnel_slot(lock_dir: Path | None = None) -> TunnelSlot:
    directory = lock_dir or Path(tempfile.gettempdir()) / "agentplane-tunnel-slots"
    directory.mkdir(parents=True, exist_ok=True)
    for slot in random.sample(range(SLOTS), SLOTS):
        lock = open(directory / f"{slot}.lock", "wb")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return TunnelSlot(FIRST_PORT + slot * SLOT_SIZE, lock)
    raise RuntimeError(f"all {SLOTS} tunnel port ranges are held by running test systems")
