"""Secrets kept in files of the data dir: created once, atomically, readable by the owner only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_text_secret(path: Path, factory: callable) -> str:  # type: ignore[valid-type]
    """Read a secret file, or create it atomically (0600) when it does not exist yet."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = factory()
    # Unique per attempt: threads of one process may race here too.
    tmp = path.with_suffix(f".tmp{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    try:
        # link() fails when another process won the race; then its value is the one.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
