"""A data dir left by the version that audited messages, started by this one: the
lifecycle-audit durable, created with the message subjects in its filter, is refiltered in
place, and the view's message entries are removed once before the audit resumes, so
`replay --verify` finds the audit view identical to a rebuild."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.system.stream_events import stream_events
from tests.system.two_agents import workspace_with_two_agents
from tests.unit.audit_version_1 import VERSION_1_ROWS, write_as_version_1

from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.lifecycle.audit_actions import RETIRED_ACTIONS
from agentplane.lifecycle.handlers import AUDIT_CONSUMER, filters
from agentplane.lifecycle.projections import AUDIT, AUDITED_TYPES
from agentplane.testing.system import RunningSystem

MESSAGE_TYPES = frozenset(model.TYPE for model in VERSION_1_ROWS)
MESSAGES = Events.subject("messaging", "message.*")


async def _filter_of(system: RunningSystem, subjects: list[str] | None = None) -> list[str]:
    """The audit durable's filter subjects (set to `subjects` first, when given)."""
    nc = await system.nats_connect()
    try:
        js = nc.jetstream()
        config = (await js.consumer_info(EVENTS_STREAM, AUDIT_CONSUMER)).config
        if subjects is not None:
            config.filter_subject, config.filter_subjects = None, subjects
            config = (await js.add_consumer(EVENTS_STREAM, config=config)).config
        return list(config.filter_subjects or [config.filter_subject or ""])
    finally:
        await nc.close()


async def _sent_to_audit(system: RunningSystem) -> int:
    """How many messages the server has sent the audit durable."""
    nc = await system.nats_connect()
    try:
        info = await nc.jetstream().consumer_info(EVENTS_STREAM, AUDIT_CONSUMER)
        return int(info.delivered.consumer_seq or 0)
    finally:
        await nc.close()


def _message_types(system: RunningSystem) -> set[str]:
    return {event.type for _, event in asyncio.run(stream_events(system, MESSAGES))}


def _actions(http: httpx.Client, agent: str, key: dict[str, str]) -> list[str]:
    response = http.get(f"/v1/agents/{agent}/audit-logs", headers=key)
    assert response.status_code == 200, response.text
    return [entry["action"] for entry in response.json()["logs"]]


def _send(http: httpx.Client, key: dict[str, str], sender: str, to: str, ttl: int = 600) -> str:
    response = http.post(f"/v1/agents/{sender}/messages/send", headers=key,
                         json={"toAgentId": to, "payload": {}, "ttlSeconds": ttl})  # fmt: skip
    assert response.status_code == 200, response.text
    return str(response.json()["messageId"])


def _command(http: httpx.Client, key: dict[str, str], agent: str) -> None:
    response = http.post(f"/v1/agents/{agent}/command", headers=key, json={"action": "status"})
    assert response.status_code == 200, response.text


def test_a_data_dir_of_the_version_that_audited_messages_is_upgraded_at_start(
    system_factory: Callable[..., RunningSystem], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = system_factory(data_dir=data)
    api_key, sender, recipient = workspace_with_two_agents(first)
    key = {"x-api-key": api_key}
    with httpx.Client(base_url=first.base_url, timeout=30) as http:
        read = [_send(http, key, sender, recipient) for _ in range(3)]
        _send(http, key, sender, recipient, ttl=1)
        http.post(f"/v1/agents/{recipient}/messages/read", headers=key,
                  json={"messageIds": read}).raise_for_status()  # fmt: skip
        _command(http, key, recipient)
        deadline = time.monotonic() + 15
        while "message.Expired" not in _message_types(first):  # its timer runs each second
            assert time.monotonic() < deadline, "the short message never expired"
            time.sleep(0.2)
        assert _actions(http, recipient, key).count("command_sent") == 1
    # What version 1 left: its durable was sent the message events too ...
    old_filter = filters(AUDITED_TYPES | MESSAGE_TYPES)
    assert asyncio.run(_filter_of(first, old_filter)) == old_filter
    events = [event for _, event in asyncio.run(stream_events(first, MESSAGES))]
    assert len(events) == 3 + 1 + 3 + 1  # sent, read, expired
    first.stop()
    # ... and its view held an entry of each, with no view version recorded.
    views = SQLiteViewStore(data / "lifecycle_views.sqlite")
    write_as_version_1(views, events)
    with views.read() as tx:
        assert len(tx.list(AUDIT, recipient)) == 2 + len(events)  # provisioned, command_sent
    views.close()

    second = system_factory(data_dir=data)
    assert asyncio.run(_filter_of(second)) == filters(AUDITED_TYPES)
    removed = re.findall(r"removed (\d+) message entries", second.log())
    assert removed and removed[-1] == str(len(events)), removed
    with httpx.Client(base_url=second.base_url, timeout=30) as http:
        assert sorted(_actions(http, recipient, key)) == ["command_sent", "provisioned"]
        # A message and then a command: the server sends the audit the command alone.
        before = asyncio.run(_sent_to_audit(second))
        _send(http, key, sender, recipient)
        _command(http, key, recipient)
        assert _actions(http, recipient, key).count("command_sent") == 2  # read-after-write
        assert asyncio.run(_sent_to_audit(second)) == before + 1
        assert not RETIRED_ACTIONS & set(_actions(http, recipient, key))
    verified = second.cli("replay", "--verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    line = next(x for x in verified.stdout.splitlines() if x.startswith("lifecycle.audit "))
    assert "identical" in line, line
