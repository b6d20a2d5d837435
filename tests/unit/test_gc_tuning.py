"""The gateway's collector settings: the built app frozen out of scans, rare young collections.

Run in a fresh interpreter: freezing and thresholds are process-wide and must not leak into
the test session.
"""

from __future__ import annotations

import json
import subprocess
import sys

from agentplane.bus.gc_tuning import MIDDLE_THRESHOLD, OLD_THRESHOLD, YOUNG_THRESHOLD

PROBE = """
import gc, json
from agentplane.gateway.app import create_app
from agentplane.settings import GatewaySettings
from agentplane.gateway import main
app = create_app(GatewaySettings())
alive = len(gc.get_objects())
main.tune_for_server()
print(json.dumps({"alive": alive, "frozen": gc.get_freeze_count(),
                  "scanned": len(gc.get_objects()), "threshold": gc.get_threshold()}))
"""


def test_the_built_gateway_is_frozen_and_collected_rarely() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    probe = json.loads(out)
    assert probe["threshold"] == [YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD]
    assert YOUNG_THRESHOLD > 700  # CPython's default, which cost the storm 40% of its CPU
    # What the app holds is frozen (less what the first collection freed); scans skip it.
    assert probe["frozen"] > probe["alive"] // 2
    assert probe["scanned"] < probe["alive"] // 10
