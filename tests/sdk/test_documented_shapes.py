"""Endpoints the server does not serve yet: the SDK sends what the documents say and reads the
documents' example answers. A real local server records each request and answers the example."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from tests.sdk.scripted_server import Answer, Received, ScriptedServer, scripted

from agentplane.sdk import AsyncClient, Client, DeviceCredentials, RetryPolicy

AGENT = "550e8400-e29b-41d4-a716-446655440000"
OTHER = "660e8400-e29b-41d4-a716-446655440001"
SVC = {
    "id": "svc_123",
    "name": "prod-db",
    "agentId": AGENT,
    "targetHost": "localhost",
    "targetPort": 5432,
    "tunnelPort": 50123,
    "protocol": "tcp",
    "status": "active",
    "isPublic": False,
    "publicSubdomain": None,
    "publicUrl": None,
    "lastCheckAt": "2026-03-02T10:00:00.000Z",
    "lastCheckStatus": "OK",
    "createdAt": "2026-03-01T10:00:00.000Z",
}
DIAG = {
    "id": "diag_123",
    "serviceId": "svc_123",
    "tcpStatus": "OK",
    "tcpLatencyMs": 12,
    "tlsStatus": "N/A",
    "httpStatus": "OK",
    "httpStatusCode": 200,
    "httpLatencyMs": 45,
    "perspective": "hub",
    "sourceAgent": None,
    "timestamp": "2026-03-02T10:00:00.000Z",
}


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    yield from scripted()


@pytest.fixture
async def client(server: ScriptedServer) -> Any:
    async with AsyncClient(server.base_url, api_key="pc_key", retry=RetryPolicy(0)) as c:
        yield c


def only(server: ScriptedServer) -> Received:
    assert len(server.received) == 1
    return server.received[0]


async def test_services_register_and_external(server: ScriptedServer, client: AsyncClient) -> None:
    server.answer(
        Answer(200, {"success": True, "service": {**SVC, "publicUrl": None, "isPublic": False}})
    )
    done = await client.services.register(AGENT, "prod-db", "localhost", 5432, "tcp")
    sent = only(server)
    assert (sent.method, sent.path, sent.headers["x-api-key"]) == (
        "POST",
        "/v1/services/register",
        "pc_key",
    )
    assert sent.body == {
        "agentId": AGENT,
        "name": "prod-db",
        "targetHost": "localhost",
        "targetPort": 5432,
        "protocol": "tcp",
        "isPublic": False,
    }
    assert done.service.tunnel_port == 50123 and done.service.status == "active"
    external = {
        "id": "svc_456",
        "name": "external-api",
        "targetHost": "api.example.com",
        "targetPort": 443,
        "protocol": "https",
        "isExternal": True,
    }
    server.answer(Answer(200, {"success": True, "service": external}))
    made = await client.services.create_external("external-api", "api.example.com", 443, "https")
    assert only(server).body == {
        "name": "external-api",
        "targetHost": "api.example.com",
        "targetPort": 443,
        "protocol": "https",
    }
    assert made.service.is_external is True


async def test_services_read_update_delete(server: ScriptedServer, client: AsyncClient) -> None:
    server.answer(Answer(200, [SVC | {"isExternal": False}]))
    assert (await client.services.list())[0].agent_id == UUID(AGENT)
    server.answer(Answer(200, SVC))
    got = await client.services.get("svc_123")
    assert only(server).path == "/v1/services/svc_123" and got.last_check_status == "OK"
    server.answer(
        Answer(200, {"success": True, "service": {"id": "svc_123", "name": "production-database"}})
    )
    renamed = await client.services.update("svc_123", "production-database")
    assert (only(server).method, only(server).body) == ("PATCH", {"name": "production-database"})
    assert renamed.service.name == "production-database"
    server.answer(Answer(200, {"success": True}))
    assert (await client.services.delete("svc_123")).success
    assert only(server).method == "DELETE"


async def test_diagnostics_and_reach(server: ScriptedServer, client: AsyncClient) -> None:
    server.answer(
        Answer(
            200,
            {
                "success": True,
                "diagnostic": DIAG | {"httpStatus": "N/A"},
                "service": {"id": "svc_123", "status": "active", "lastCheckAt": DIAG["timestamp"]},
            },
        )
    )
    checked = await client.services.check("svc_123")
    assert only(server).path == "/v1/services/svc_123/check"
    assert checked.diagnostic.tcp_latency_ms == 12 and checked.diagnostic.perspective == "hub"
    server.answer(Answer(200, [DIAG]))
    history = await client.services.diagnostics("svc_123", limit=50)
    assert only(server).path == "/v1/services/svc_123/diagnostics?limit=50"
    assert history[0].http_status_code == 200
    server.answer(
        Answer(
            200,
            {
                "success": True,
                "diagnostic": {
                    "id": "diag_124",
                    "perspective": "agent",
                    "sourceAgent": "web-server-1",
                    "tcpStatus": "OK",
                    "tcpLatencyMs": 8,
                },
                "session": {"id": "sess_123", "outcome": "success"},
            },
        )
    )
    reached = await client.services.reach("svc_123", AGENT, "tcp", 5000)
    assert only(server).body == {"sourceAgentId": AGENT, "mode": "tcp", "timeoutMs": 5000}
    assert reached.session is not None and reached.session.outcome == "success"
    assert reached.diagnostic.source_agent == "web-server-1"


async def test_subdomains(server: ScriptedServer, client: AsyncClient) -> None:
    server.answer(
        Answer(
            200,
            {
                "success": True,
                "service": {
                    "id": "svc_123",
                    "publicSubdomain": "pc-my-staging-api",
                    "isPublic": True,
                    "publicUrl": "https://pc-my-staging-api.privateconnect.co",
                },
            },
        )
    )
    done = await client.services.set_subdomain("svc_123", "my-staging-api")
    assert done.service.public_subdomain == "pc-my-staging-api"
    await client.services.set_subdomain("svc_123", None)
    assert server.received[-1].body == {"subdomain": None}
    server.answer(
        Answer(200, {"available": False, "valid": True, "error": "Subdomain is already taken"})
    )
    free = await client.services.check_subdomain("svc_123", "my-staging-api")
    assert only(server).path == "/v1/services/svc_123/subdomain/check?subdomain=my-staging-api"
    assert (free.available, free.valid, free.error) == (False, True, "Subdomain is already taken")


async def test_messages(server: ScriptedServer, client: AsyncClient) -> None:
    server.answer(
        Answer(
            200, {"success": True, "messageId": "msg_123", "expiresAt": "2026-03-02T10:05:00.000Z"}
        )
    )
    sent = await client.messages.send(
        AGENT,
        OTHER,
        {"action": "process", "data": "example"},
        channel="tasks",
        type="request",
        ttl_seconds=300,
    )
    assert only(server).path == f"/v1/agents/{AGENT}/messages/send"
    assert only(server).body == {
        "toAgentId": OTHER,
        "payload": {"action": "process", "data": "example"},
        "channel": "tasks",
        "type": "request",
        "ttlSeconds": 300,
    }
    assert sent.message_id == "msg_123"
    server.answer(Answer(200, {"success": True, "messageId": "msg_124"}))
    await client.messages.broadcast(
        AGENT, {"announcement": "maintenance in 1 hour"}, channel="system", ttl_seconds=3600
    )
    assert only(server).path == f"/v1/agents/{AGENT}/messages/broadcast"
    server.answer(
        Answer(
            200,
            {
                "messages": [
                    {
                        "id": "msg_123",
                        "from": OTHER,
                        "channel": "tasks",
                        "type": "request",
                        "payload": {"action": "process"},
                        "correlationId": "req_456",
                        "createdAt": "2026-03-02T10:00:00.000Z",
                        "readAt": None,
                    }
                ]
            },
        )
    )
    inbox = await client.messages.list(AGENT, channel="tasks", unread_only=True, limit=50)
    assert (
        only(server).path == f"/v1/agents/{AGENT}/messages?channel=tasks&unreadOnly=true&limit=50"
    )
    assert inbox.messages[0].from_agent == OTHER and inbox.messages[0].correlation_id == "req_456"
    server.answer(Answer(200, {"success": True}))
    await client.messages.mark_read(AGENT, ["msg_123", "msg_124"])
    assert only(server).body == {"messageIds": ["msg_123", "msg_124"]}


async def test_commands(server: ScriptedServer, client: AsyncClient) -> None:
    server.answer(
        Answer(
            200,
            {
                "success": True,
                "commandId": "cmd_123",
                "message": "Command 'expose' sent to agent",
                "agentOnline": True,
            },
        )
    )
    params = {"target": "localhost:5432", "name": "prod-db", "protocol": "tcp"}
    sent = await client.commands.send(AGENT, "expose", params)
    assert (only(server).path, only(server).body) == (
        f"/v1/agents/{AGENT}/command",
        {"action": "expose", "params": params},
    )
    assert (sent.command_id, sent.agent_online) == ("cmd_123", True)
    state = {"commandId": "cmd_123", "action": "expose", "status": "queued", "params": params}
    server.answer(Answer(200, state))
    assert (await client.commands.get(AGENT, "cmd_123")).status == "queued"
    assert only(server).path == f"/v1/agents/{AGENT}/commands/cmd_123"
    server.answer(Answer(200, {"commands": [state], "nextCursor": "c2"}))
    page = await client.commands.list(AGENT, limit=10, cursor="c1")
    assert only(server).path == f"/v1/agents/{AGENT}/commands?limit=10&cursor=c1"
    assert page.next_cursor == "c2" and page.commands[0].command_id == "cmd_123"
    server.answer(Answer(200, state | {"status": "cancelled"}))
    assert (await client.commands.cancel(AGENT, "cmd_123")).status == "cancelled"
    assert only(server).method == "DELETE"


async def test_operator_tasks_and_orchestrator_tasks(
    server: ScriptedServer, client: AsyncClient
) -> None:
    server.answer(Answer(201, {"taskId": "t1", "taskType": "docker.pull", "status": "pending"}))
    created = await client.tasks.create(
        AGENT, "docker.pull", {"image": "myapp", "tag": "v2.3.1"}, priority=10, timeout=300
    )
    assert only(server).body == {
        "taskType": "docker.pull",
        "payload": {"image": "myapp", "tag": "v2.3.1"},
        "priority": 10,
        "timeout": 300,
    }
    assert created.task_id == "t1"
    server.answer(
        Answer(
            200,
            {
                "tasks": [
                    {
                        "taskId": "t1",
                        "taskType": "docker.run",
                        "priority": 10,
                        "createdAt": "2026-01-10T14:20:00Z",
                    }
                ]
            },
        )
    )
    pending = await client.orchestrator.pending_tasks(AGENT, token="jwt")
    assert only(server).headers["authorization"] == "Bearer jwt"
    assert "x-api-key" not in only(server).headers
    assert pending.tasks[0].priority == 10
    server.answer(Answer(200, {"acknowledged": True}))
    ack = await client.orchestrator.complete_task(
        AGENT,
        "t1",
        True,
        {"imageId": "sha256:abc123"},
        [{"timestamp": "2026-01-10T14:23:45Z", "level": "info", "message": "Pulling image..."}],
        token="jwt",
    )
    assert only(server).path == f"/api/v1/agents/{AGENT}/tasks/t1/complete"
    assert only(server).body["logs"][0]["timestamp"] == "2026-01-10T14:23:45Z"
    assert ack.acknowledged
    server.answer(Answer(200, {"taskId": "t1", "status": "running", "progress": 50}))
    assert (await client.tasks.get(AGENT, "t1")).progress == 50
    server.answer(Answer(200, {"taskId": "t1", "status": "cancelled"}))
    await client.tasks.cancel(AGENT, "t1")
    assert only(server).method == "DELETE"


async def test_device_tasks_and_channel(server: ScriptedServer, client: AsyncClient) -> None:
    device = DeviceCredentials(agent_id=AGENT, api_key="ap_dev_key")
    server.answer(
        Answer(200, {"success": True, "data": [{"id": "t1", "task_type": "scan", "payload": {}}]})
    )
    tasks = await client.device.tasks(device)
    headers = only(server).headers
    assert (headers["x-agent-key"], headers["x-agent-id"]) == ("ap_dev_key", AGENT)
    assert headers["x-request-timestamp"].endswith("Z") and "x-api-key" not in headers
    assert tasks[0].id == "t1"
    server.answer(Answer(200, {"success": True, "data": {"acknowledged": True}}))
    await client.device.report_result(
        device, "t1", {"success": True, "bundle_results": [{"control": "a"}]}
    )
    assert only(server).path == "/api/agent/tasks/t1/result"
    answer = {
        "agentId": AGENT,
        "natsUrls": ["nats://hub:4222"],
        "natsWebsocketUrl": None,
        "httpChannelUrl": f"/v1/agents/{AGENT}/channel",
        "inboxSubject": f"ap.inbox.{AGENT}",
        "replyInboxPrefix": f"_INBOX_{AGENT}",
        "publishPrefix": f"ap.agent.{AGENT}",
        "heartbeatIntervalSeconds": 30,
    }
    server.answer(Answer(200, answer))
    info = await client.channel.info(device)
    assert info.agent_id == UUID(AGENT) and info.nats_urls == ["nats://hub:4222"]
    assert only(server).path == "/v1/agent-channel"


async def test_pap_export_and_webhooks(server: ScriptedServer, client: AsyncClient) -> None:
    agent = {
        "uuid": str(uuid4()),
        "name": "my-agent",
        "dns_name": "my-agent.is.plugged.in",
        "state": "ACTIVE",
        "created_at": "2025-11-13T08:00:00Z",
    }
    server.answer(
        Answer(
            200,
            {
                "agent": agent,
                "heartbeats": [],
                "metrics": [],
                "lifecycle_events": [],
                "metadata": {
                    "exported_at": "2025-11-13T08:15:00Z",
                    "triggered_by": "u",
                    "total_heartbeats": 250,
                    "total_metrics": 240,
                },
            },
        )
    )
    exported = await client.pap.export(agent["uuid"], include_telemetry=True, telemetry_limit=1000)
    assert only(server).headers["authorization"] == "Bearer pc_key"
    assert only(server).body == {"include_telemetry": True, "telemetry_limit": 1000}
    assert exported.metadata.total_heartbeats == 250
    server.answer(
        Answer(
            201,
            {
                "id": "wh_1",
                "url": "https://example.com/hook",
                "events": ["agent.activated"],
                "secret": "whsec_x",
            },
        )
    )
    hook = await client.webhooks.create("https://example.com/hook", ["agent.activated"])
    assert hook.secret == "whsec_x"
    server.answer(
        Answer(200, {"deliveries": [{"id": "d1", "event": "agent.activated", "statusCode": 200}]})
    )
    assert (await client.webhooks.deliveries("wh_1")).deliveries[0].status_code == 200
    assert only(server).path == "/v1/webhooks/wh_1/deliveries"


def test_sync_client_sends_the_same(server: ScriptedServer) -> None:
    server.answer(Answer(200, [SVC]))
    with Client(server.base_url, api_key="pc_key") as c:
        assert c.services.list()[0].id == "svc_123"
    assert only(server).path == "/v1/services"
