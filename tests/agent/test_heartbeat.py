"""Heartbeat bodies against a real local HTTP server: the gap reason after a restart or
failed beats (once), a rotated key applied to the next beat, and the seed 003 shape."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.sdk.scripted_server import Answer, ScriptedServer, scripted

from agentplane.agent.heartbeat import BeatState, Heartbeats, restart_reason
from agentplane.agent.metrics import boot_time
from agentplane.agent.state import Identity, StateDir
from agentplane.contracts.http.device import HeartbeatBody
from agentplane.sdk import NO_RETRIES, AsyncClient

AGENT = "9a4f9a55-3c2e-4d55-9a63-0c4b5a2c1d10"
OK = {"success": True, "data": {"acknowledged": True, "server_time": "2026-01-01T00:00:00Z"}}


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    yield from scripted()


def beats(server: ScriptedServer, tmp_path: Path, reason: str | None, count: int) -> list[str]:
    """Send `count` beats; the keys they carried, in order."""
    identity = [Identity("device", AGENT, "ap_dev_old", server.base_url)]

    async def rotate(key: str) -> None:
        identity[0] = identity[0].with_credential(key)

    async def scenario() -> None:
        async with AsyncClient(server.base_url, retry=NO_RETRIES) as client:
            heart = Heartbeats(
                client, StateDir(tmp_path), lambda: identity[0], rotate, BeatState, "1.2.3",
                datetime.now(UTC).replace(microsecond=0), reason,
            )  # fmt: skip
            for _ in range(count):
                await heart.beat_once()

    asyncio.run(scenario())
    return [r.headers["x-agent-key"] for r in server.received]


def test_first_beat_after_a_restart_reports_the_gap_once(
    server: ScriptedServer, tmp_path: Path
) -> None:
    server.answer(Answer(200, OK))
    beats(server, tmp_path, "service_restart", 2)
    first, second = (r.body for r in server.received)
    assert first["reconnect_reason"] == "service_restart"
    assert first["process_start_time"] <= first["timestamp"]
    assert "reconnect_reason" not in second and "process_start_time" not in second
    # What the agent sends is what seed 003 accepts.
    for body in (first, second):
        HeartbeatBody.model_validate(body)
        assert body["agent_version"] == "1.2.3" and body["system"]["memory_mb"] > 0
    assert StateDir(tmp_path).load_run()["last_beat_at"] > 0


def test_failed_beats_are_reported_as_network_recovery(
    server: ScriptedServer, tmp_path: Path
) -> None:
    refused = Answer(401, {"success": False, "error": "Invalid API key"})
    server.answer(refused, refused, Answer(200, OK), Answer(200, OK))
    beats(server, tmp_path, None, 4)
    bodies = [r.body for r in server.received]
    assert "reconnect_reason" not in bodies[0]
    assert bodies[2]["reconnect_reason"] == "network_recovery"
    assert "reconnect_reason" not in bodies[3]


def test_a_rotated_key_is_used_from_the_next_beat(server: ScriptedServer, tmp_path: Path) -> None:
    rotated = {"success": True, "data": {**OK["data"], "new_api_key": "ap_dev_new"}}
    server.answer(Answer(200, rotated), Answer(200, OK))
    assert beats(server, tmp_path, None, 3) == ["ap_dev_old", "ap_dev_new", "ap_dev_new"]


def test_restart_reason_from_the_previous_run() -> None:
    assert restart_reason({}) is None
    assert restart_reason({"last_beat_at": boot_time() + 60}) == "service_restart"
    assert restart_reason({"last_beat_at": boot_time() - 60}) == "machine_reboot"
    assert restart_reason({"next_reason": "update_restart"}) == "update_restart"
