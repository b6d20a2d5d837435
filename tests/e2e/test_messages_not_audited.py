"""Agent-to-agent messages make no audit entry (docs/audit-log.md, "Messages are not audit
entries"), while a command sent to the same agent in the same test does."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from tests.nats_auth.agents import key_headers, seed000_agent
from tests.system.stream_events import stream_events

from agentplane.contracts.subjects import Events
from agentplane.lifecycle.audit_actions import RETIRED_ACTIONS
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system


async def _message_events(system: RunningSystem) -> set[tuple[str, str]]:
    """(type, message id) of every message event in the stream so far."""
    events = await stream_events(system, Events.subject("messaging", "message.*"))
    return {(event.type, event.data["message_id"]) for _, event in events}


def _audit(http: httpx.Client, ws: dict[str, Any], agent: str) -> list[dict[str, Any]]:
    response = http.get(f"/v1/agents/{agent}/audit-logs", headers=key_headers(ws))
    assert response.status_code == 200, response.text
    logs: list[dict[str, Any]] = response.json()["logs"]
    return logs


def test_messages_sent_read_and_expired_make_no_audit_entry_but_a_command_does(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    sender, _ = seed000_agent(http, workspace)
    recipient, _ = seed000_agent(http, workspace)

    def send(ttl: int) -> str:
        response = http.post(
            f"/v1/agents/{sender}/messages/send",
            headers=key_headers(workspace),
            json={"toAgentId": recipient, "payload": {}, "ttlSeconds": ttl},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["messageId"])

    kept, short = send(600), send(1)
    read = http.post(
        f"/v1/agents/{recipient}/messages/read",
        headers=key_headers(workspace),
        json={"messageIds": [kept]},
    )
    assert read.status_code == 200 and read.json()["marked"] == 1, read.text
    # Every step is in the stream before the command below (expiry runs each second).
    steps = {
        ("message.Sent", kept),
        ("message.Sent", short),
        ("message.Read", kept),
        ("message.Expired", short),
    }
    deadline = time.monotonic() + 15
    while not steps <= asyncio.run(_message_events(system)):
        assert time.monotonic() < deadline, "the message events never reached the stream"
        time.sleep(0.2)

    command = http.post(
        f"/v1/agents/{recipient}/command", headers=key_headers(workspace), json={"action": "status"}
    )
    assert command.status_code == 200, command.text
    command_id = command.json()["commandId"]
    # The audit applies the stream in order: once the command's entry is listed, every
    # message event before it has been through the audit too.
    deadline = time.monotonic() + 10
    while True:
        entries = _audit(http, workspace, recipient)
        sent = [e for e in entries if e["action"] == "command_sent"]
        if sent or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [e["metadata"]["commandId"] for e in sent] == [command_id]
    entries += _audit(http, workspace, sender)
    assert not [e for e in entries if e["action"] in RETIRED_ACTIONS], entries
    assert kept not in str(entries) and short not in str(entries)
