"""`make bench` imports every benchmark module first: a refactor that breaks one stops it all."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("module", sorted(p.stem for p in BENCH.glob("*.py")))
def test_bench_module_imports(module: str) -> None:
    importlib.import_module(f"bench.{module}")
