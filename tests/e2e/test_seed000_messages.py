"""Seed 000 agent messaging over HTTP, called the way the document's curl examples call it,
and live delivery over the agent channel."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from nats.js.errors import NotFoundError
from tests.e2e.command_agent import ChannelAgent, connect_test_agent, get, headers, post
from tests.nats_auth.agents import eventually, seed000_agent

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

DOC_SEND = {
    "payload": {"action": "process", "data": "example"},
    "channel": "tasks",
    "type": "request",
    "ttlSeconds": 300,
}


def send(http: httpx.Client, ws: dict[str, Any], sender: str, body: dict[str, Any]) -> Any:
    return http.post(f"/v1/agents/{sender}/messages/send", json=body, headers=headers(ws))


def inbox(http: httpx.Client, ws: dict[str, Any], agent: str, query: str = "") -> Any:
    return http.get(f"/v1/agents/{agent}/messages{query}", headers=headers(ws))


def read(http: httpx.Client, ws: dict[str, Any], agent: str, ids: list[str]) -> Any:
    return http.post(
        f"/v1/agents/{agent}/messages/read", json={"messageIds": ids}, headers=headers(ws)
    )


def test_send_doc_example_then_inbox_and_read(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    sender, _ = seed000_agent(http, workspace)
    recipient, _ = seed000_agent(http, workspace)
    before = time.time()
    response = send(
        http, workspace, sender, {"toAgentId": recipient, "correlationId": "req_456", **DOC_SEND}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"success", "messageId", "expiresAt"} and body["success"] is True
    assert body["messageId"].startswith("msg_")
    assert body["expiresAt"].endswith("Z")
    expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00")).timestamp()
    assert before + 300 <= expires + 1 and expires < time.time() + 300 + 1

    listed = inbox(http, workspace, recipient, "?channel=tasks&unreadOnly=true&limit=50")
    assert listed.status_code == 200, listed.text
    messages = listed.json()["messages"]
    assert len(messages) == 1
    message = messages[0]
    for key in ("id", "from", "channel", "type", "payload", "correlationId", "createdAt"):
        assert key in message
    assert message["id"] == body["messageId"] and message["from"] == sender
    assert message["channel"] == "tasks" and message["type"] == "request"
    assert message["payload"] == DOC_SEND["payload"]
    assert message["correlationId"] == "req_456" and message["readAt"] is None
    # The sender's inbox does not hold it; another channel filters it out.
    assert inbox(http, workspace, sender).json()["messages"] == []
    assert inbox(http, workspace, recipient, "?channel=other").json()["messages"] == []

    marked = read(http, workspace, recipient, [body["messageId"], "msg_123"])
    assert marked.status_code == 200, marked.text
    assert marked.json() == {"success": True, "marked": 1}
    assert inbox(http, workspace, recipient).json()["messages"] == []  # unreadOnly default
    everything = inbox(http, workspace, recipient, "?unreadOnly=false").json()["messages"]
    assert [m["id"] for m in everything] == [body["messageId"]]
    read_at = everything[0]["readAt"]
    assert read_at is not None
    # Repeating is harmless: readAt is set once.
    assert read(http, workspace, recipient, [body["messageId"]]).status_code == 200
    again = inbox(http, workspace, recipient, "?unreadOnly=false").json()["messages"]
    assert again[0]["readAt"] == read_at


def test_other_agents_messages_are_neither_changed_nor_revealed(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    a, _ = seed000_agent(http, workspace)
    b, _ = seed000_agent(http, workspace)
    c, _ = seed000_agent(http, workspace)
    sent = send(http, workspace, a, {"toAgentId": b, "payload": {"x": 1}}).json()["messageId"]
    assert read(http, workspace, c, [sent]).json() == {"success": True, "marked": 0}
    assert inbox(http, workspace, b).json()["messages"][0]["readAt"] is None


def test_inbox_order_limit_and_cursor(http: httpx.Client, workspace: dict[str, Any]) -> None:
    a, _ = seed000_agent(http, workspace)
    b, _ = seed000_agent(http, workspace)
    ids = [
        send(http, workspace, a, {"toAgentId": b, "payload": {"n": n}}).json()["messageId"]
        for n in range(5)
    ]
    first = inbox(http, workspace, b, "?limit=2")
    assert [m["id"] for m in first.json()["messages"]] == ids[:2]  # oldest first
    cursor = first.headers["X-Next-Cursor"]
    second = inbox(http, workspace, b, f"?limit=2&cursor={cursor}")
    assert [m["id"] for m in second.json()["messages"]] == ids[2:4]
    assert all(m["type"] == "event" for m in second.json()["messages"])  # the default type
    last = inbox(http, workspace, b, f"?limit=2&cursor={second.headers['X-Next-Cursor']}")
    assert [m["id"] for m in last.json()["messages"]] == ids[4:]
    assert "X-Next-Cursor" not in last.headers


def test_broadcast_doc_example_reaches_every_other_agent(
    http: httpx.Client, system: RunningSystem
) -> None:
    ws = create_workspace(http, system.admin_token)
    sender, _ = seed000_agent(http, ws)
    others = [seed000_agent(http, ws)[0] for _ in range(3)]
    response = http.post(
        f"/v1/agents/{sender}/messages/broadcast",
        json={
            "payload": {"announcement": "maintenance in 1 hour"},
            "channel": "system",
            "ttlSeconds": 3600,
        },
        headers=headers(ws),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["recipients"] == 3
    assert len(set(body["messageIds"])) == 3
    for agent in others:
        messages = inbox(http, ws, agent, "?channel=system").json()["messages"]
        assert len(messages) == 1 and messages[0]["type"] == "broadcast"
        assert messages[0]["from"] == sender and messages[0]["id"] in body["messageIds"]
    assert inbox(http, ws, sender).json()["messages"] == []


def test_expired_messages_are_never_listed(http: httpx.Client, workspace: dict[str, Any]) -> None:
    a, _ = seed000_agent(http, workspace)
    b, _ = seed000_agent(http, workspace)
    short = send(http, workspace, a, {"toAgentId": b, "payload": {}, "ttlSeconds": 1}).json()
    kept = send(http, workspace, a, {"toAgentId": b, "payload": {}, "ttlSeconds": 600}).json()
    time.sleep(1.5)
    listed = inbox(http, workspace, b, "?unreadOnly=false").json()["messages"]
    assert [m["id"] for m in listed] == [kept["messageId"]]
    assert short["messageId"] not in str(listed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"payload": {"a": 1}}, "toAgentId"),
        ({"toAgentId": "TARGET"}, "payload"),
        ({"toAgentId": "TARGET", "payload": [1, 2]}, "payload"),
        ({"toAgentId": "TARGET", "payload": "text"}, "payload"),
        ({"toAgentId": "TARGET", "payload": {}, "type": "shout"}, "type"),
        ({"toAgentId": "TARGET", "payload": {}, "channel": "c" * 101}, "channel"),
        ({"toAgentId": "TARGET", "payload": {}, "ttlSeconds": 0}, "ttlSeconds"),
        ({"toAgentId": "TARGET", "payload": {}, "ttlSeconds": 604801}, "ttlSeconds"),
    ],
)
def test_send_errors_are_400_naming_the_field(
    http: httpx.Client, workspace: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    a, _ = seed000_agent(http, workspace)
    b, _ = seed000_agent(http, workspace)
    if body.get("toAgentId") == "TARGET":
        body = {**body, "toAgentId": b}
    response = send(http, workspace, a, body)
    assert response.status_code == 400, response.text
    assert field in response.text


def test_send_404_401_413(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> None:
    a, _ = seed000_agent(http, workspace)
    b, _ = seed000_agent(http, workspace)
    foreign, _ = seed000_agent(http, create_workspace(http, system.admin_token))
    for sender, target in ((a, str(uuid.uuid4())), (a, foreign), (str(uuid.uuid4()), b)):
        response = send(http, workspace, sender, {"toAgentId": target, "payload": {}})
        assert response.status_code == 404, response.text
    assert inbox(http, workspace, foreign).status_code == 404
    unauthenticated = http.post(
        f"/v1/agents/{a}/messages/send", json={"toAgentId": b, "payload": {}}
    )
    assert unauthenticated.status_code == 401
    big = send(http, workspace, a, {"toAgentId": b, "payload": {"x": "y" * (64 * 1024)}})
    assert big.status_code == 413, big.text
    assert inbox(http, workspace, b).json()["messages"] == []  # nothing was recorded


async def test_a_connected_agent_receives_messages_live_and_acknowledges_them(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any], agents: list[ChannelAgent]
) -> None:
    sender, _ = seed000_agent(http, workspace)
    recipient, token = seed000_agent(http, workspace)
    offline = await post(
        http,
        f"/v1/agents/{sender}/messages/send",
        json={"toAgentId": recipient, "payload": {"n": 0}, "channel": "c1"},
        headers=headers(workspace),
    )
    agent = await connect_test_agent(system.nats_url, recipient, token)
    agents.append(agent)
    await agent.hello()  # what waited is sent after the hello
    live = await post(
        http,
        f"/v1/agents/{sender}/messages/send",
        json={"toAgentId": recipient, "payload": {"n": 1}, "correlationId": "r1"},
        headers=headers(workspace),
    )
    expected = [offline.json()["messageId"], live.json()["messageId"]]
    assert await eventually(lambda: [m.id for m in agent.received] == expected, 10), [
        m.id for m in agent.received
    ]
    first, second = agent.received
    assert first.kind == "message" and first.body["payload"] == {"n": 0}
    assert first.body["from_agent_id"] == sender and first.body["channel"] == "c1"
    assert second.body["correlation_id"] == "r1"

    async def delivered() -> bool:
        response = await get(
            http, f"/v1/agents/{recipient}/messages?unreadOnly=false", headers=headers(workspace)
        )
        return all(m["deliveredAt"] for m in response.json()["messages"])

    assert await eventually(delivered, 10)
    # Delivered is not read: the inbox still lists them as unread.
    unread = await get(http, f"/v1/agents/{recipient}/messages", headers=headers(workspace))
    assert [m["id"] for m in unread.json()["messages"]] == expected


def registered_agent(http: httpx.Client, ws: dict[str, Any]) -> str:
    """A seed 002 agent (one the workspace key may delete)."""
    token = http.post(
        "/v1/enrollment-tokens", json={"kind": "registration"}, headers=headers(ws)
    ).json()["token"]
    registered = http.post(
        "/api/v1/agents/register",
        json={"name": f"orch-{uuid.uuid4().hex[:6]}", "version": "1.0.0"},
        headers={"X-Agent-Token": token},
    )
    assert registered.status_code == 201, registered.text
    return str(registered.json()["agentId"])


def test_a_deleted_agent_gets_no_more_messages(
    http: httpx.Client, workspace: dict[str, Any]
) -> None:
    sender, _ = seed000_agent(http, workspace)
    recipient = registered_agent(http, workspace)
    # The messaging service now knows the recipient (it confirmed it with the registry).
    assert send(http, workspace, sender, {"toAgentId": recipient, "payload": {}}).status_code == 200
    deleted = http.delete(f"/api/v1/agents/{recipient}", headers=headers(workspace))
    assert deleted.status_code == 200, deleted.text
    deadline = time.monotonic() + 10
    while True:
        status = send(http, workspace, sender, {"toAgentId": recipient, "payload": {}}).status_code
        if status == 404 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 404  # forgotten on the registry's agent.Deleted, not after a cache TTL


async def _cancelled_ids(system: RunningSystem) -> set[str]:
    """Message ids of every `message.Cancelled` integration event in the stream so far."""
    nc = await system.nats_connect(name="test-cancelled-messages")
    try:
        js = nc.jetstream()
        subject = Events.subject("messaging", "message.Cancelled")
        info = await js.stream_info(EVENTS_STREAM)
        found: set[str] = set()
        seq = 0
        while seq < info.state.last_seq:
            try:
                msg = await js.get_msg(EVENTS_STREAM, seq=seq + 1, subject=subject, next=True)
            except NotFoundError:
                break
            seq = msg.seq
            found.add(IntegrationEvent.model_validate_json(msg.data).data["message_id"])
        return found
    finally:
        await nc.close()


async def test_a_deleted_agents_undelivered_messages_end_cancelled(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any], agents: list[ChannelAgent]
) -> None:
    sender, _ = seed000_agent(http, workspace)
    gone = await asyncio.to_thread(registered_agent, http, workspace)
    stays, stays_token = seed000_agent(http, workspace)
    body = {"payload": {"n": 1}, "channel": "c"}
    waiting = await post(
        http, f"/v1/agents/{sender}/messages/send",
        json={"toAgentId": gone, **body}, headers=headers(workspace),
    )  # fmt: skip
    other = await post(
        http, f"/v1/agents/{sender}/messages/send",
        json={"toAgentId": stays, **body}, headers=headers(workspace),
    )  # fmt: skip
    assert waiting.status_code == other.status_code == 200
    deleted = await asyncio.to_thread(
        http.delete, f"/api/v1/agents/{gone}", headers=headers(workspace)
    )
    assert deleted.status_code == 200, deleted.text
    waiting_id = waiting.json()["messageId"]

    async def cancelled() -> bool:
        return waiting_id in await _cancelled_ids(system)

    assert await eventually(cancelled, 15)
    # Only the gone agent's: another agent's undelivered message still reaches it.
    assert other.json()["messageId"] not in await _cancelled_ids(system)
    agent = await connect_test_agent(system.nats_url, stays, stays_token)
    agents.append(agent)
    await agent.hello()
    assert await eventually(
        lambda: [m.id for m in agent.received] == [other.json()["messageId"]], 10
    )
