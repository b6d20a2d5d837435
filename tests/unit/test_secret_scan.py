"""The end-of-suite secret scan recognises every kind of leaked secret."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from agentplane.security import new_secret
from agentplane.security.nats_credentials import (
    CREDENTIALS_FILE,
    NATS_CONFIG_FILE,
    NatsCredentials,
)
from agentplane.testing.secret_scan import SECRET_PREFIXES, scan_tree


@pytest.fixture
def planted() -> Iterator[Path]:
    """Outside pytest's temp dirs, which the end-of-suite scan itself checks."""
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def test_a_planted_secret_of_every_kind_is_found(planted: Path) -> None:
    for prefix in SECRET_PREFIXES:
        (planted / f"{prefix}.log").write_bytes(b"x " + new_secret(prefix).encode() + b" y")
    found = scan_tree(planted)
    assert sorted(leak.path.name for leak in found) == sorted(f"{p}.log" for p in SECRET_PREFIXES)
    assert all(leak.kind == "secret" for leak in found)


def test_prefixes_mistyped_secrets_and_server_keys_are_not_leaks(planted: Path) -> None:
    secret = new_secret("agent_tok_")
    mistyped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    (planted / "audit.json").write_text(f'{{"tokenPrefix": "{secret[:18]}", "x": "{mistyped}"}}')
    (planted / "ca.key").write_text("-----BEGIN PRIVATE KEY-----\nabc\n")
    assert scan_tree(planted) == []


def test_jwts_and_private_keys_elsewhere_are_leaks(planted: Path) -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWc"
    (planted / "events.sqlite").write_text(f"... {jwt} ...")
    (planted / "run.log").write_text("-----BEGIN PRIVATE KEY-----\n")
    kinds = sorted(leak.kind for leak in scan_tree(planted))
    assert kinds == ["jwt", "private key"]


def test_nkey_seeds_are_leaks_outside_the_servers_credential_files(planted: Path) -> None:
    credentials = NatsCredentials.generate()
    (planted / "registry.log").write_text(f"seed={credentials.issuer_seed}")
    (planted / "nats-auth").mkdir()
    (planted / "nats-auth" / CREDENTIALS_FILE).write_text(json.dumps(asdict(credentials)))
    (planted / "nats-auth" / NATS_CONFIG_FILE).write_text(credentials.service_password)
    found = scan_tree(planted)
    assert [(leak.path.name, leak.kind) for leak in found] == [("registry.log", "nkey seed")]
    # A public nkey (`A…`) is no secret.
    (planted / "registry.log").write_text(credentials.issuer_public_key)
    assert scan_tree(planted) == []
