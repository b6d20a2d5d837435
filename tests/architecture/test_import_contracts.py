"""The import-linter contracts hold, and really fail the build when broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # The copied roots come first, so their `agentplane` portions shadow the real ones.
    env["PYTHONPATH"] = f"{tree / 'libs'}{os.pathsep}{tree / 'services'}"
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("libs", "services"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_contracts_are_kept(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout


def test_a_service_importing_another_service_breaks_the_build(tree: Path) -> None:
    (tree / "services/agentplane/registry/leak.py").write_text(
        "from agentplane.heartbeat.domain import LivenessTable\n"
    )
    result = _lint(tree)
    assert result.returncode != 0
    assert "Services never import each other BROKEN" in result.stdout


@pytest.mark.parametrize("transport", ["faststream", "nats", "fastapi"])
def test_domain_code_importing_a_transport_breaks_the_build(tree: Path, transport: str) -> None:
    (tree / "services/agentplane/registry/domain/leak.py").write_text(f"import {transport}\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "Domain code does no I/O and knows no transport BROKEN" in result.stdout


def test_the_agent_importing_a_service_breaks_the_build(tree: Path) -> None:
    (tree / "services/agentplane/agent/leak.py").write_text(
        "from agentplane.registry.domain import Agent\n"
    )
    result = _lint(tree)
    assert result.returncode != 0
    assert "The reference agent is a client: it uses libs, never a service BROKEN" in result.stdout
