"""The README documents every setting, so a new one cannot be added silently."""

from __future__ import annotations

import re
from pathlib import Path

from agentplane.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def _documented(readme: str, name: str) -> bool:
    if name in readme:
        return True
    # Grouped rows: `AGENTPLANE_POSTGRES_HOST` / `_PORT` documents AGENTPLANE_POSTGRES_PORT.
    for line in readme.splitlines():
        for full in re.findall(r"`(AGENTPLANE_[A-Z0-9_]+)`", line):
            stem = full.rsplit("_", 1)[0]
            while stem.startswith("AGENTPLANE_") and stem != "AGENTPLANE":
                if name.startswith(stem + "_") and f"`{name[len(stem) :]}`" in line:
                    return True
                stem = stem.rsplit("_", 1)[0]
    return False


def test_every_setting_is_in_the_readme() -> None:
    readme = README.read_text()
    missing = []
    for field, info in Settings.model_fields.items():
        if info.validation_alias is not None:
            continue  # NATS_URL has its own row
        name = f"AGENTPLANE_{field.upper()}"
        if not _documented(readme, name):
            missing.append(name)
    assert missing == [], f"settings missing from README.md: {missing}"
    assert "`NATS_URL`" in readme
