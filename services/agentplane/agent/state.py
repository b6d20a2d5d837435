"""The agent's state dir: identity, the ids of handled hub messages, and the last run.

The dir is 0700 and every file 0600, written atomically (a temp file in the same dir,
fsync, rename) so a crash never leaves half an identity: the agent would lose its key.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

IDENTITY_FILE = "identity.json"
HANDLED_FILE = "handled.json"
ENROLLMENT_KEY_FILE = "enrollment_key.json"
RUN_FILE = "run.json"
DEFAULT_STATE_DIR = Path.home() / ".agentplane-agent"
# Enough to cover every message the hub may resend after a reconnect.
MAX_HANDLED = 1000

Dialect = Literal["device", "v1", "orchestrator"]


def ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    # mkdir's mode is masked by umask, and an existing dir may be wider: set it explicitly.
    os.chmod(path, 0o700)
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` (0600) so readers see the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json(path: Path, document: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(document, indent=2, sort_keys=True).encode())


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return loaded if isinstance(loaded, dict) else None


@dataclass(frozen=True)
class Identity:
    """Who the agent is: a seed 003 device (api key), a seed 000 agent (token) or a seed 002
    orchestrator agent (its JWT)."""

    dialect: Dialect
    agent_id: str
    credential: str
    server_url: str
    # The release-signing key a device receives at enrollment (empty for seed 000).
    public_key: str = ""

    def __repr__(self) -> str:
        # The credential never reaches a log through a repr.
        return f"Identity(dialect={self.dialect}, agent_id={self.agent_id}, credential=***)"

    def with_credential(self, credential: str) -> Identity:
        return Identity(self.dialect, self.agent_id, credential, self.server_url, self.public_key)


class StateDir:
    """Files of one agent's state dir."""

    def __init__(self, path: Path) -> None:
        self.path = ensure_dir(path.expanduser())

    def load_identity(self) -> Identity | None:
        document = read_json(self.path / IDENTITY_FILE)
        return Identity(**document) if document else None

    def save_identity(self, identity: Identity) -> None:
        write_json(self.path / IDENTITY_FILE, asdict(identity))

    def enrollment_key(self) -> str:
        """The Idempotency-Key of this state dir's enrollment, kept until it succeeds: a retry
        after a lost answer (or a crash mid-enrollment) gets the same identity, not a 401."""
        path = self.path / ENROLLMENT_KEY_FILE
        document = read_json(path)
        if document and isinstance(document.get("key"), str):
            return str(document["key"])
        key = f"enroll-{uuid.uuid4()}"
        write_json(path, {"key": key})
        return key

    def forget_enrollment_key(self) -> None:
        (self.path / ENROLLMENT_KEY_FILE).unlink(missing_ok=True)

    def load_run(self) -> dict[str, Any]:
        return read_json(self.path / RUN_FILE) or {}

    def save_run(self, document: dict[str, Any]) -> None:
        write_json(self.path / RUN_FILE, document)

    def handled(self) -> HandledIds:
        return HandledIds(self.path / HANDLED_FILE)


class HandledIds:
    """A bounded, persisted set of handled hub message ids (oldest forgotten first)."""

    def __init__(self, path: Path | None, limit: int = MAX_HANDLED) -> None:
        # Without a path the set lives in memory only (simulated agents).
        self.path = path
        self.limit = limit
        stored = (read_json(path) if path is not None else None) or {}
        ids = [str(i) for i in stored.get("ids", [])][-limit:]
        self._ids: OrderedDict[str, None] = OrderedDict.fromkeys(ids)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, message_id: str) -> bool:
        """Record `message_id` durably; False when it was handled already."""
        if message_id in self._ids:
            return False
        self._ids[message_id] = None
        while len(self._ids) > self.limit:
            self._ids.popitem(last=False)
        if self.path is not None:
            write_json(self.path, {"ids": list(self._ids)})
        return True

    def recent(self, count: int) -> list[str]:
        return list(self._ids)[-count:]
