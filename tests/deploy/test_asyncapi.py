"""The committed AsyncAPI document is what the contracts generate, and names the NATS API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agentplane.contracts.asyncapi import document
from agentplane.contracts.liveness import NativeBeat
from agentplane.contracts.subjects import Heartbeat

ROOT = Path(__file__).resolve().parents[2]


def test_committed_document_matches_the_contracts() -> None:
    committed = json.loads((ROOT / "deploy/asyncapi.json").read_text())
    assert committed == json.loads(json.dumps(document())), (
        "deploy/asyncapi.json is stale: run `.venv/bin/agentplane asyncapi > deploy/asyncapi.json`"
    )


def test_native_heartbeat_subject_and_schema_are_documented() -> None:
    doc = document()
    channel = doc["channels"]["nativeHeartbeat"]
    assert channel["address"].replace("{agentId}", "x") == Heartbeat.native("x")
    schema = doc["components"]["schemas"]["NativeBeat"]
    assert schema["required"] == ["token"]
    assert set(NativeBeat.model_fields) <= set(schema["properties"])
    assert doc["asyncapi"].startswith("3.")


def test_cli_prints_it() -> None:
    agentplane = Path(sys.executable).parent / "agentplane"
    out = subprocess.run([str(agentplane), "asyncapi"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["info"]["title"] == document()["info"]["title"]
