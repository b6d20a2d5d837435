"""Semantic versions (semver.org 2.0.0) as agents and releases carry them: form and order."""

from __future__ import annotations

import re

# The grammar of semver.org without named groups, so pydantic's regex engine accepts it too.
SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_SEMVER = re.compile(SEMVER_PATTERN)

PrecedenceKey = tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]


def is_semver(version: str) -> bool:
    return _SEMVER.match(version) is not None


def precedence(version: str) -> PrecedenceKey:
    """A sort key in semver precedence: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-rc.1 < 1.0.0.

    Build metadata (`+…`) does not take part, so `1.0.0+a` and `1.0.0+b` rank equal.
    Raises ValueError for a string that is not a semantic version.
    """
    match = _SEMVER.match(version)
    if match is None:
        raise ValueError(f"not a semantic version: {version!r}")
    major, minor, patch, pre, _build = match.groups()
    identifiers: tuple[tuple[int, int | str], ...] = ()
    if pre:
        # Numeric identifiers rank below alphanumeric ones and compare as numbers.
        identifiers = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    # A release ranks above every pre-release of the same version.
    return (int(major), int(minor), int(patch), 0 if pre else 1, identifiers)
