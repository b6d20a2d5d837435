"""Secrets: 256 random bits, a type prefix and a checksum; kept only as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_LEN = 43  # 62**43 > 2**256, so 32 random bytes always fit
_CHECK_LEN = 6  # 62**6 > 2**32 holds a CRC-32
PUBLIC_PREFIX_LEN = 8


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits))


def _checksum(prefix: str, body: str) -> str:
    return _base62(zlib.crc32(f"{prefix}{body}".encode()), _CHECK_LEN)


def new_secret(prefix: str) -> str:
    """A fresh secret such as `agent_tok_<43 base62 chars><6 char checksum>`."""
    body = _base62(int.from_bytes(secrets.token_bytes(32), "big"), _BODY_LEN)
    return f"{prefix}{body}{_checksum(prefix, body)}"


def is_well_formed(secret: str, prefix: str) -> bool:
    """True when the secret has the prefix, the length and a matching checksum.

    Lets a mistyped or forged secret be rejected before any lookup.
    """
    if not secret.startswith(prefix) or len(secret) != len(prefix) + _BODY_LEN + _CHECK_LEN:
        return False
    body = secret[len(prefix) : len(prefix) + _BODY_LEN]
    check = secret[len(prefix) + _BODY_LEN :]
    if any(ch not in _ALPHABET for ch in body):
        return False
    return hmac.compare_digest(check, _checksum(prefix, body))


def public_prefix(secret: str, prefix: str = "") -> str:
    """The part of a secret that may be shown in audit logs and lists."""
    return secret[: len(prefix) + PUBLIC_PREFIX_LEN] if prefix else secret[:PUBLIC_PREFIX_LEN]


def keyed_hash(secret: str, key: bytes) -> str:
    """HMAC-SHA256 of the secret under the server key; the only form ever stored."""
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def matches(secret: str, stored_hash: str, key: bytes) -> bool:
    """Constant-time comparison of a presented secret with its stored keyed hash."""
    return hmac.compare_digest(keyed_hash(secret, key), stored_hash)
