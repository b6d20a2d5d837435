"""One launcher per data dir: a second `agentplane run` on the same stores refuses to start.

Two systems on one data dir would run two relays and two liveness engines over the same
SQLite files. The lock is an flock, so it is released when the launcher dies, however.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_FILE = "launcher.lock"


class DataDirInUse(RuntimeError):
    """Another launcher holds the data dir."""


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Hold the data dir for the life of the returned file (keep a reference to it)."""
    handle = open(data_dir / LOCK_FILE, "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise DataDirInUse(
            f"{data_dir} is in use by agentplane run (pid {holder}); stop it first or set "
            "AGENTPLANE_DATA_DIR to another directory"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
