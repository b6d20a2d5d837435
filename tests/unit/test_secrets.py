"""Secrets: 256 random bits, type prefix, checksum; stored only as keyed hashes."""

from __future__ import annotations

import pytest

from agentplane.security import is_well_formed, keyed_hash, matches, new_secret, public_prefix


def test_a_secret_has_its_prefix_and_passes_its_checksum() -> None:
    secret = new_secret("agent_tok_")
    assert secret.startswith("agent_tok_")
    assert len(secret) == len("agent_tok_") + 43 + 6
    assert is_well_formed(secret, "agent_tok_")


def test_secrets_are_unique() -> None:
    assert len({new_secret("pc_") for _ in range(1000)}) == 1000


@pytest.mark.parametrize("position", [3, 20, 45, -1])
def test_a_mistyped_secret_fails_the_checksum(position: int) -> None:
    secret = new_secret("pc_")
    chars = list(secret)
    chars[position] = "A" if chars[position] != "A" else "B"
    assert not is_well_formed("".join(chars), "pc_")


def test_wrong_prefix_or_length_is_not_well_formed() -> None:
    secret = new_secret("pc_")
    assert not is_well_formed(secret, "agent_tok_")
    assert not is_well_formed(secret[:-1], "pc_")
    assert not is_well_formed(secret + "x", "pc_")


def test_keyed_hash_depends_on_the_key_and_matches_in_constant_time() -> None:
    secret = new_secret("pc_")
    stored = keyed_hash(secret, b"k1")
    assert stored != keyed_hash(secret, b"k2")
    assert secret not in stored
    assert matches(secret, stored, b"k1")
    assert not matches(secret, stored, b"k2")
    assert not matches(new_secret("pc_"), stored, b"k1")


def test_public_prefix_is_short() -> None:
    secret = new_secret("agent_tok_")
    prefix = public_prefix(secret, "agent_tok_")
    assert secret.startswith(prefix) and len(prefix) == len("agent_tok_") + 8
