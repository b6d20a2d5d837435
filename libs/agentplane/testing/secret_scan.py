"""Finds full secrets where none may be: data dirs, the JetStream store, logs.

Every secret agentplane issues has a type prefix, 43 base62 characters and a checksum, so a
full one is recognisable wherever it lands, without knowing which secrets a run issued.
Agent JWTs and PEM private keys are recognisable by their shape. The server's own key files
are the only places a private key may rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nkeys

from agentplane.security import is_well_formed
from agentplane.security.nats_credentials import (
    CREDENTIALS_FILE,
    NATS_CONFIG_FILE,
    NATS_PASSWORD_PREFIX,
)

# Task credentials are the operator's own strings, which no pattern can recognise: tests
# make theirs in this shape (`new_secret(TASK_CREDENTIAL_PREFIX)`) so the scan can prove the
# messaging service never lets one rest in clear (it seals them, then erases them).
TASK_CREDENTIAL_PREFIX = "ap_tcred_"
# Issued secrets: workspace API keys, seed 000 agent tokens, one-time registration and
# enrollment tokens, device API keys, never-shown PAP tokens, the NATS bus's own passwords, and
# the tests' task credentials.
SECRET_PREFIXES = (
    "pc_",
    "agent_tok_",
    "ap_reg_",
    "ap_enr_",
    "ap_dev_",
    "pap_unused_",
    NATS_PASSWORD_PREFIX,
    TASK_CREDENTIAL_PREFIX,
)
_SECRET = re.compile(
    rb"(?<![0-9A-Za-z_])(" + b"|".join(re.escape(p.encode()) for p in SECRET_PREFIXES) + rb")"
    rb"([0-9A-Za-z]{49})(?![0-9A-Za-z])"
)
_JWT = re.compile(rb"eyJ[0-9A-Za-z_-]{10,}\.eyJ[0-9A-Za-z_-]{10,}\.[0-9A-Za-z_-]{20,}")
_PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
# Standard Webhooks signing secrets: `whsec_` + base64 of 32 random bytes (44 characters).
_WEBHOOK_SECRET = re.compile(rb"whsec_[A-Za-z0-9+/]{43}=")
# NATS nkey seeds (the auth callout's issuer key): `S` + key type + base32, 58 characters.
_NKEY_SEED = re.compile(rb"(?<![A-Z2-7])S[AUONC][A-Z2-7]{56}(?![A-Z2-7])")

# Files that hold the server's own private material by design.
SERVER_KEY_FILES = {
    "server.key",
    "ca.key",
    "heartbeat_token_tag.key",
    "tls_forwarding.key",
    "admin_token",
    CREDENTIALS_FILE,
    NATS_CONFIG_FILE,
}
SERVER_KEY_PATTERNS = ("signing", "ed25519")


@dataclass(frozen=True)
class Leak:
    path: Path
    kind: str
    sample: str  # enough to find it, never the whole secret

    def __str__(self) -> str:
        return f"{self.path}: {self.kind} {self.sample}…"


def _server_key_file(path: Path) -> bool:
    name = path.name
    return name in SERVER_KEY_FILES or any(p in name for p in SERVER_KEY_PATTERNS)


def _nkey_seed(candidate: bytes) -> bool:
    try:
        nkeys.decode_seed(candidate)
    except (nkeys.NkeysError, ValueError):
        return False
    return True


def scan_bytes(path: Path, data: bytes) -> list[Leak]:
    if _server_key_file(path):
        # Where the server keeps its own keys and passwords (owner-only files).
        return []
    leaks = []
    for match in _SECRET.finditer(data):
        secret = match.group(0).decode()
        if is_well_formed(secret, match.group(1).decode()):
            leaks.append(Leak(path, "secret", secret[: len(match.group(1)) + 4]))
    for match in _JWT.finditer(data):
        leaks.append(Leak(path, "jwt", match.group(0)[:12].decode()))
    for match in _WEBHOOK_SECRET.finditer(data):
        leaks.append(Leak(path, "webhook secret", match.group(0)[:10].decode()))
    for match in _PRIVATE_KEY.finditer(data):
        leaks.append(Leak(path, "private key", match.group(0)[:16].decode()))
    for match in _NKEY_SEED.finditer(data):
        if _nkey_seed(match.group(0)):
            leaks.append(Leak(path, "nkey seed", match.group(0)[:4].decode()))
    return leaks


def scan_tree(root: Path, skip_suffixes: tuple[str, ...] = (".py", ".pyc")) -> list[Leak]:
    """Every leak in every file under `root` (SQLite files, JetStream blocks, logs, …)."""
    leaks: list[Leak] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix in skip_suffixes:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        leaks.extend(scan_bytes(path, data))
    return leaks
