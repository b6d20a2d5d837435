"""The agent's own version (the installed agentplane distribution's)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def agent_version() -> str:
    try:
        return version("agentplane")
    except PackageNotFoundError:
        return "0.0.0"
