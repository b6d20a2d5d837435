"""The state dir: owner-only permissions, atomic writes, and the persisted dedupe set."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agentplane.agent import state as state_module
from agentplane.agent.state import HandledIds, Identity, StateDir, write_atomic

IDENTITY = Identity("device", "5d8c1f7e-0000-4000-8000-000000000001", "k" * 40, "http://x", "pk")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_dir_is_0700_and_files_0600_even_under_a_wide_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        state = StateDir(tmp_path / "state")
        state.save_identity(IDENTITY)
        state.save_run({"agent_id": IDENTITY.agent_id})
        state.handled().add("m1")
    finally:
        os.umask(old)
    assert mode(state.path) == 0o700
    files = sorted(p.name for p in state.path.iterdir())
    assert files == ["handled.json", "identity.json", "run.json"]
    assert all(mode(p) == 0o600 for p in state.path.iterdir())


def test_an_existing_wider_dir_is_narrowed(tmp_path: Path) -> None:
    wide = tmp_path / "wide"
    wide.mkdir(mode=0o755)
    os.chmod(wide, 0o777)
    StateDir(wide)
    assert mode(wide) == 0o700


def test_identity_round_trips_and_its_repr_hides_the_credential(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    assert state.load_identity() is None
    state.save_identity(IDENTITY)
    assert StateDir(tmp_path).load_identity() == IDENTITY
    assert "k" * 40 not in repr(IDENTITY)
    rotated = IDENTITY.with_credential("n" * 40)
    state.save_identity(rotated)
    assert state.load_identity() == rotated


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "identity.json"
    write_atomic(target, b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(state_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["identity.json"]


def test_handled_ids_dedupe_persist_and_stay_bounded(tmp_path: Path) -> None:
    handled = HandledIds(tmp_path / "handled.json", limit=3)
    assert handled.add("a") is True
    assert handled.add("a") is False
    for message_id in ("b", "c", "d"):
        handled.add(message_id)
    assert "a" not in handled and len(handled) == 3
    reloaded = HandledIds(tmp_path / "handled.json", limit=3)
    assert "d" in reloaded and "b" in reloaded and "a" not in reloaded
    assert reloaded.add("c") is False
    assert reloaded.recent(2) == ["c", "d"]


def test_in_memory_handled_ids_write_nothing(tmp_path: Path) -> None:
    handled = HandledIds(None)
    assert handled.add("x") and not handled.add("x")
    assert list(tmp_path.iterdir()) == []
