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


def _said(result: subprocess.CompletedProcess[str]) -> str:
    # import-linter wraps its report at 80 columns; contract names are compared unwrapped.
    return " ".join(result.stdout.split())


SERVICE_LAYERS = {
    "registry": "Registry layers: main > handlers > use cases > application > projections, "
    "translate > domain BROKEN",
    "heartbeat": "Heartbeat layers: main > handlers > intake > application > projections, "
    "translate > domain BROKEN",
    "messaging": "Messaging layers: main > handlers > flows > use cases > projections, "
    "translate > domain BROKEN",
    "diagnostics": "Diagnostics layers: main > handlers > flows > use cases > store, "
    "projections, translate > domain BROKEN",
    "lifecycle": "Lifecycle layers: main > handlers > use cases > provisioners, projections, "
    "translate > domain BROKEN",
    "webhooks": "Webhooks layers: main > handlers > use cases > projections, translate > "
    "domain BROKEN",
}


def test_a_lower_layer_importing_a_higher_one_breaks_the_build(tree: Path) -> None:
    # One run for every service: each domain reaches up to its composition root.
    for service in SERVICE_LAYERS:
        leak = tree / f"services/agentplane/{service}/domain/leak.py"
        leak.write_text(f"import agentplane.{service}.main\n")
    result = _lint(tree)
    assert result.returncode != 0
    said = _said(result)
    for service, broken in SERVICE_LAYERS.items():
        assert broken in said, service
        assert f"agentplane.{service}.domain.leak -> agentplane.{service}.main" in said


def test_handlers_importing_the_composition_root_break_the_build(tree: Path) -> None:
    handlers = tree / "services/agentplane/webhooks/handlers.py"
    handlers.write_text(handlers.read_text() + "\nimport agentplane.webhooks.main  # noqa: E402\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert SERVICE_LAYERS["webhooks"] in _said(result)


def test_a_module_without_a_room_breaks_the_build(tree: Path) -> None:
    # Layers are exhaustive: a new module must be placed in its service's layers first.
    (tree / "services/agentplane/messaging/leak.py").write_text('"""Placed nowhere."""\n')
    result = _lint(tree)
    assert result.returncode != 0
    said = _said(result)
    assert SERVICE_LAYERS["messaging"] in said
    assert "agentplane.messaging.leak" in said


def test_lifecycle_and_diagnostics_domains_doing_io_break_the_build(tree: Path) -> None:
    (tree / "services/agentplane/lifecycle/domain/leak.py").write_text("import asyncio\n")
    (tree / "services/agentplane/diagnostics/domain/leak.py").write_text(
        "from agentplane.eventstore.views import ViewTx\n"
    )
    result = _lint(tree)
    assert result.returncode != 0
    said = _said(result)
    assert "Domain code does no I/O and knows no transport BROKEN" in said
    assert "agentplane.lifecycle.domain is not allowed to import asyncio" in said
    assert "agentplane.lifecycle.domain.leak -> asyncio" in said
    assert "agentplane.diagnostics.domain.leak -> agentplane.eventstore.views" in said


def test_the_cli_reaching_past_a_replay_facade_breaks_the_build(tree: Path) -> None:
    (tree / "services/agentplane/cli/leak.py").write_text(
        "from agentplane.registry.application import Registry\n"
    )
    result = _lint(tree)
    assert result.returncode != 0
    said = _said(result)
    assert "The CLI reads services only through their replay/export facade" in said
    assert "agentplane.cli.leak -> agentplane.registry.application" in said
