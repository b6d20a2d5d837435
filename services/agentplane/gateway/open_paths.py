"""Paths no limit ever refuses: health probes and the API's own documentation."""

from __future__ import annotations

OPEN_PATHS = ("/health", "/openapi.json", "/docs")


def is_open_path(path: str) -> bool:
    return any(path == p or path.startswith((p + "/", p + "-")) for p in OPEN_PATHS)
