"""Signing secrets at rest: encrypted with the service's own key (Fernet, AES-128-CBC + HMAC).

The key lives in the data dir (`webhook_secrets.key`, 0600, created once, shared by replicas
that share the data dir); the event store and its views hold only ciphertexts, so a copy of
the database alone reveals no secret. Deliveries need the plaintext to sign, so it is
encryption, not a hash.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

from agentplane.contracts.webhooks import SECRET_PREFIX
from agentplane.security.secret_files import load_or_create_text_secret

KEY_FILE = "webhook_secrets.key"


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class SecretBox:
    """Encrypts and decrypts signing secrets with the key in `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        key = load_or_create_text_secret(
            data_dir / KEY_FILE, lambda: Fernet.generate_key().decode()
        )
        self._fernet = Fernet(key.encode())

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, ciphertext: str) -> str:
        return self._fernet.decrypt(ciphertext.encode()).decode()
