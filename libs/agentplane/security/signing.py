"""The control plane's Ed25519 signing keys: they sign agent releases (seed 003).

The root private key is created on first start and kept in the data dir (owner-only, created
race-free like the HMAC server key). Each workspace signs with its own key derived from the
root (HKDF-SHA256, info = the workspace id): its devices receive that public key at enrollment
and verify every update against it, so only this control plane can hand them a binary — and a
release published by another workspace fails their check.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from agentplane.security.secret_files import load_or_create_text_secret

SIGNING_KEY_FILE = "signing_ed25519.key"


def canonical_json(document: dict[str, Any]) -> str:
    """The one byte form of a document that is signed: sorted keys, no spaces."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


class SigningKey:
    """Ed25519 private key of the control plane."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key

    @classmethod
    def load_or_create(cls, data_dir: Path) -> SigningKey:
        # The file holds the 32-byte seed as hex; of two processes starting together the
        # first link() wins and both read its seed.
        seed = load_or_create_text_secret(
            data_dir / SIGNING_KEY_FILE, lambda: secrets.token_bytes(32).hex()
        )
        return cls(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed)))

    def for_workspace(self, workspace_id: str) -> SigningKey:
        """The workspace's own release key, derived from this root key (same on every replica)."""
        root = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        seed = HKDF(
            algorithm=SHA256(), length=32, salt=b"agentplane release signing",
            info=f"workspace:{workspace_id}".encode(),
        ).derive(root)  # fmt: skip
        return SigningKey(Ed25519PrivateKey.from_private_bytes(seed))

    def public_key_b64(self) -> str:
        """Base64 of the 32 raw public key bytes, as agents receive it."""
        raw = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def sign(self, data: bytes) -> str:
        """Base64 of the 64-byte Ed25519 signature of `data`."""
        return base64.b64encode(self._private.sign(data)).decode()


def verify(public_key_b64: str, data: bytes, signature_b64: str) -> bool:
    """What an agent does with an update: check the signature with the enrollment key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), data)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
