"""The server's HMAC key, created once and kept in the data dir with owner-only permissions."""

from __future__ import annotations

import secrets
from pathlib import Path

from agentplane.security.secret_files import load_or_create_text_secret

KEY_FILE = "server.key"


def server_key(data_dir: Path) -> bytes:
    """The key every keyed hash of a secret uses (and agent JWT keys derive from).

    Only the registry holds it; other processes get secrets of their own (the gateway's
    forwarding secret, the heartbeat's tag key), so none of them can mint or check those.
    """
    return bytes.fromhex(
        load_or_create_text_secret(data_dir / KEY_FILE, lambda: secrets.token_hex(32))
    )
