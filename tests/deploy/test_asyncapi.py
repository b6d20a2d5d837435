"""The committed AsyncAPI document is what the contracts generate, and names the NATS API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agentplane.contracts.asyncapi import document
from agentplane.contracts.asyncapi_events import app_of
from agentplane.contracts.events.event_types import EVENT_TYPES
from agentplane.contracts.liveness import NativeBeat
from agentplane.contracts.subjects import Events, Heartbeat

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


def test_every_integration_event_type_is_listed_with_its_schema() -> None:
    doc = document()
    listed = {
        channel["title"]: channel
        for channel in doc["channels"].values()
        if "allOf" in channel["messages"].get("event", {}).get("payload", {})
    }
    assert set(listed) == {model.TYPE for model in EVENT_TYPES.models()}
    for model in EVENT_TYPES.models():
        channel = listed[model.TYPE]
        assert channel["address"] == Events.subject(app_of(model), model.TYPE)
        typed = channel["messages"]["event"]["payload"]["allOf"][1]["properties"]
        assert typed["version"] == {"const": model.VERSION}
        schema = doc["components"]["schemas"][typed["data"]["$ref"].rsplit("/", 1)[-1]]
        assert set(schema["properties"]) == set(model.model_fields)
