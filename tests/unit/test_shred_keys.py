"""Crypto-shredding of stored idempotent answers: after the day key is gone, nothing reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentplane.security.shred_keys import KeyShredded, ShredKeys


def test_a_day_key_encrypts_and_is_shredded_a_day_after_its_day(tmp_path: Path) -> None:
    keys = ShredKeys(tmp_path / "keys")
    noon = datetime(2026, 12, 5, 12, tzinfo=UTC)
    day, ciphertext = keys.encrypt(b"pc_secret", noon)
    assert day == "2026-12-05" and b"pc_secret" not in ciphertext.encode()
    assert keys.decrypt(day, ciphertext) == b"pc_secret"
    # Still needed 24 h after the day's last answer (the day ends at midnight).
    assert keys.shred_before(datetime(2026, 12, 6, 23, 59, tzinfo=UTC) - timedelta(hours=24)) == []
    assert keys.decrypt(day, ciphertext) == b"pc_secret"
    assert keys.shred_before(datetime(2026, 12, 7, 0, 1, tzinfo=UTC) - timedelta(hours=24)) == [day]
    with pytest.raises(KeyShredded):
        keys.decrypt(day, ciphertext)
    assert (tmp_path / "keys" / f"{day}.key").exists() is False


def test_files_are_owner_only_and_days_are_validated(tmp_path: Path) -> None:
    keys = ShredKeys(tmp_path / "keys")
    day, _ = keys.encrypt(b"x", datetime(2026, 1, 2, tzinfo=UTC))
    assert (tmp_path / "keys" / f"{day}.key").stat().st_mode & 0o077 == 0
    with pytest.raises(KeyShredded):
        keys.decrypt("../server", "token")
