"""Crypto-shredding: one random key per UTC day encrypts that day's stored answers.

Event stores never forget, so a secret that must be erasable is stored encrypted and its key
is deleted instead: once a day's key file is gone, every ciphertext of that day is noise.
Files live in the service's data dir (0600, created race-free; replicas sharing the data dir
agree on each day's key).
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from agentplane.security.secret_files import load_or_create_text_secret

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class KeyShredded(Exception):
    """The day's key was deleted: its ciphertexts can no longer be read."""


class ShredKeys:
    """Day keys in `directory`: encrypt with today's, decrypt with the named day's."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, day: str) -> Path:
        if not _DAY.match(day):
            raise KeyShredded(day)
        return self.directory / f"{day}.key"

    def encrypt(self, plaintext: bytes, now: datetime) -> tuple[str, str]:
        """(day, ciphertext) under the key of `now`'s UTC day."""
        day = now.date().isoformat()
        key = load_or_create_text_secret(
            self._path(day), lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        )
        return day, Fernet(key.encode()).encrypt(plaintext).decode()

    def decrypt(self, day: str, ciphertext: str) -> bytes:
        path = self._path(day)
        if not path.exists():
            raise KeyShredded(day)
        try:
            return Fernet(path.read_text().strip().encode()).decrypt(ciphertext.encode())
        except (InvalidToken, ValueError):
            raise KeyShredded(day) from None

    def shred_before(self, cutoff: datetime) -> list[str]:
        """Delete the keys of every day that ended before `cutoff`; the days shredded."""
        shredded = []
        for path in self.directory.glob("*.key"):
            day = path.stem
            if not _DAY.match(day):
                continue
            ends = datetime.fromisoformat(day).replace(tzinfo=cutoff.tzinfo) + timedelta(days=1)
            if ends < cutoff:
                path.unlink(missing_ok=True)
                shredded.append(day)
        return sorted(shredded)
