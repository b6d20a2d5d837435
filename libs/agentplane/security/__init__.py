"""Random secrets with a type prefix and checksum, keyed hashes, constant-time comparison."""

from agentplane.security.secret_files import load_or_create_text_secret
from agentplane.security.secrets import (
    is_well_formed,
    keyed_hash,
    matches,
    new_secret,
    public_prefix,
)
from agentplane.security.server_key import server_key

__all__ = [
    "is_well_formed",
    "keyed_hash",
    "load_or_create_text_secret",
    "matches",
    "new_secret",
    "public_prefix",
    "server_key",
]
