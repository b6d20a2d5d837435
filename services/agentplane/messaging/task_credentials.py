"""Task credentials, sealed at rest with envelope encryption and erased when the task ends.

Each task's credentials are encrypted (AES-256-GCM) under a data key of their own; the data
key is encrypted under the service's key-encryption key (`task-credentials.kek` in the data
dir, 0600). Both ciphertexts live in one file per task, outside the event log: erasing the
file erases the credentials for good (the log and the read model only know that a task has
credentials). The task id is the associated data, so a file moved to another task's name does
not open. Replicas sharing the data dir share the key and the files.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agentplane.security.secret_files import load_or_create_text_secret

log = logging.getLogger("agentplane.messaging.tasks")

KEK_FILE = "task-credentials.kek"
NONCE_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode())


class CredentialVault:
    """Sealed credentials of open tasks, one file per task under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        kek = load_or_create_text_secret(
            directory / KEK_FILE, lambda: _b64(AESGCM.generate_key(bit_length=256))
        )
        self._kek = AESGCM(_unb64(kek))

    def _path(self, task: UUID) -> Path:
        return self.directory / f"{task.hex}.sealed"

    def seal(self, task: UUID, credentials: dict[str, str]) -> None:
        """Encrypt and store (atomically, 0600) before the task is recorded."""
        aad = task.hex.encode()
        data_key = AESGCM.generate_key(bit_length=256)
        nonce, key_nonce = secrets.token_bytes(NONCE_BYTES), secrets.token_bytes(NONCE_BYTES)
        sealed = {
            "v": 1,
            "nonce": _b64(nonce),
            "ciphertext": _b64(
                AESGCM(data_key).encrypt(nonce, json.dumps(credentials).encode(), aad)
            ),
            "key_nonce": _b64(key_nonce),
            "wrapped_key": _b64(self._kek.encrypt(key_nonce, data_key, aad)),
        }
        path = self._path(task)
        tmp = path.with_suffix(f".tmp{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(sealed, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def open(self, task: UUID) -> dict[str, str] | None:
        """The credentials, or None when they were erased (or never sealed)."""
        try:
            sealed = json.loads(self._path(task).read_text())
        except FileNotFoundError:
            return None
        aad = task.hex.encode()
        try:
            data_key = self._kek.decrypt(
                _unb64(sealed["key_nonce"]), _unb64(sealed["wrapped_key"]), aad
            )
            plain = AESGCM(data_key).decrypt(
                _unb64(sealed["nonce"]), _unb64(sealed["ciphertext"]), aad
            )
        except (InvalidTag, KeyError, ValueError):
            log.error("sealed credentials of task %s do not open; treated as erased", task.hex)
            return None
        loaded = json.loads(plain)
        return {str(k): str(v) for k, v in loaded.items()}

    def erase(self, task: UUID) -> bool:
        """Delete the task's sealed credentials; False when there were none."""
        try:
            self._path(task).unlink()
        except FileNotFoundError:
            return False
        return True

    def held(self) -> list[UUID]:
        """Tasks whose credentials are still held."""
        found = []
        for path in self.directory.glob("*.sealed"):
            try:
                found.append(UUID(hex=path.stem))
            except ValueError:
                continue
        return found
