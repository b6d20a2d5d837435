"""Hub messages: recorded before the ack, repeats acknowledged but not run twice, every
command ends in a result, unserved kinds refused in the ack."""

from __future__ import annotations

import asyncio
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.agent.recorder import Published

from agentplane.agent.commands import NOT_SUPPORTED, Commands
from agentplane.agent.hub import HubDispatch
from agentplane.agent.inbox import MessageInbox
from agentplane.agent.state import HandledIds
from agentplane.agent.tasks import TaskRunner, default_registry
from agentplane.contracts.channel import ChannelAck, CommandBody, CommandOutcome, HubMessage
from agentplane.contracts.subjects import AgentChannel


class Harness:
    def __init__(self, path: Path, published: Published) -> None:
        self.published = published
        self.intervals: list[float] = []
        self.after: list[str] = []
        self.handled = HandledIds(path / "handled.json")
        self.tasks = TaskRunner(default_registry(), published)

        async def after(action: str) -> None:
            self.after.append(action)

        self.dispatch = HubDispatch(
            self.handled, Commands(lambda: {"state": "fine"}), self.tasks, published,
            self.intervals.append, after,
        )  # fmt: skip

    async def send(self, message_id: str, kind: str, body: dict[str, Any]) -> ChannelAck:
        message = HubMessage(id=message_id, kind=kind, sent_at=datetime.now(UTC), body=body)  # type: ignore[arg-type]
        ack, follow_up = await self.dispatch(message)
        if follow_up is not None:
            await follow_up()
        return ack


def command(command_id: str, action: str, expires_in: float = 60) -> dict[str, Any]:
    expires = datetime.now(UTC) + timedelta(seconds=expires_in)
    return {"command_id": command_id, "action": action, "expires_at": expires.isoformat()}


def test_a_repeated_message_is_acked_but_runs_once(tmp_path: Path, published: Published) -> None:
    async def scenario() -> None:
        hub = Harness(tmp_path, published)
        first = await hub.send("m1", "command", command("c1", "status"))
        again = await hub.send("m1", "command", command("c1", "status"))
        assert first.accepted and again.accepted and again.message_id == "m1"
        # After a restart the persisted ids still dedupe.
        reborn = Harness(tmp_path, published)
        assert (await reborn.send("m1", "command", command("c1", "status"))).accepted

    asyncio.run(scenario())
    results = published.of(AgentChannel.RESULT)
    assert len(results) == 1
    assert results[0].outcome == CommandOutcome.SUCCEEDED and results[0].result == {"state": "fine"}


def test_restart_and_stop_publish_their_result_before_acting(
    tmp_path: Path, published: Published
) -> None:
    hub = Harness(tmp_path, published)
    asyncio.run(hub.send("m1", "command", command("c1", "restart")))
    asyncio.run(hub.send("m2", "command", command("c2", "stop")))
    assert hub.after == ["restart", "stop"]
    assert [r.command_id for r in published.of(AgentChannel.RESULT)] == ["c1", "c2"]


def test_expose_reach_unknown_and_expired_commands_fail_visibly(
    tmp_path: Path, published: Published
) -> None:
    hub = Harness(tmp_path, published)
    for index, action in enumerate(("expose", "reach", "teleport")):
        ack = asyncio.run(hub.send(f"m{index}", "command", command(f"c{index}", action)))
        assert ack.accepted
    asyncio.run(hub.send("m9", "command", command("c9", "status", expires_in=-1)))
    results = {r.command_id: r for r in published.of(AgentChannel.RESULT)}
    assert all(r.outcome == CommandOutcome.FAILED for r in results.values())
    assert "the hub sent no registered service" in results["c0"].error
    assert NOT_SUPPORTED in results["c1"].error
    assert "unknown command action 'teleport'" in results["c2"].error
    assert "expired" in results["c9"].error


def test_unserved_kinds_and_invalid_bodies_are_refused_in_the_ack(
    tmp_path: Path, published: Published
) -> None:
    hub = Harness(tmp_path, published)
    reach = asyncio.run(hub.send("r1", "reach.request", {}))
    tunnel = asyncio.run(hub.send("t1", "tunnel.open", {}))
    bad = asyncio.run(hub.send("b1", "config", {"heartbeat_interval_seconds": -5}))
    assert not reach.accepted and "invalid reach.request body" in (reach.error or "")
    assert not tunnel.accepted and not bad.accepted and "invalid config" in (bad.error or "")
    assert "r1" not in hub.handled and published.items == []


def test_config_drain_and_task_messages_apply(tmp_path: Path, published: Published) -> None:
    hub = Harness(tmp_path, published)
    asyncio.run(hub.send("c1", "config", {"heartbeat_interval_seconds": 2.5}))
    assert hub.intervals == [2.5]
    offer = {"task_id": "t1", "task_type": "shell", "payload": {"argv": ["echo", "hi"]}}
    asyncio.run(hub.send("o1", "task.offer", offer))
    assert [r.outcome.value for r in published.of(AgentChannel.TASK_RESULT)] == ["succeeded"]
    asyncio.run(hub.send("d1", "drain", {"reason": "maintenance"}))
    assert hub.tasks.draining
    asyncio.run(hub.send("o2", "task.offer", {**offer, "task_id": "t2"}))
    last = published.of(AgentChannel.TASK_RESULT)[-1]
    assert last.task_id == "t2" and "draining" in last.error


def _message(message_id: str, n: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "message_id": message_id, "from_agent_id": "7d1f3a64-3f0c-4b39-9a51-3d3f0f6f0c11",
        "channel": "tasks", "type": "request", "payload": {"n": n}, "correlation_id": "r1",
        "created_at": now.isoformat(), "expires_at": (now + timedelta(hours=1)).isoformat(),
    }  # fmt: skip


def test_a_message_is_in_the_inbox_file_before_its_ack_and_only_once(
    tmp_path: Path, published: Published
) -> None:
    hub = Harness(tmp_path, published)
    inbox = MessageInbox(tmp_path)
    hub.dispatch.inbox = inbox.append
    for _ in range(2):  # the second is a resend after a lost ack
        assert asyncio.run(hub.send("msg_1", "message", _message("msg_1", 1))).accepted
    assert asyncio.run(hub.send("msg_2", "message", _message("msg_2", 2))).accepted
    lines = [json.loads(line) for line in inbox.path.read_text().splitlines()]
    assert [(m["id"], m["payload"]) for m in lines] == [("msg_1", {"n": 1}), ("msg_2", {"n": 2})]
    assert set(lines[0]) == {
        "id", "from", "channel", "type", "payload", "correlationId", "createdAt", "expiresAt",
        "receivedAt",
    }  # fmt: skip
    assert lines[0]["from"] == "7d1f3a64-3f0c-4b39-9a51-3d3f0f6f0c11"
    assert stat.S_IMODE(inbox.path.stat().st_mode) == 0o600


def test_a_message_that_cannot_be_stored_is_not_acknowledged(
    tmp_path: Path, published: Published
) -> None:
    hub = Harness(tmp_path, published)

    def full_disk(_body: object) -> None:
        raise OSError(28, "No space left on device")

    hub.dispatch.inbox = full_disk
    with pytest.raises(OSError):
        asyncio.run(hub.send("msg_1", "message", _message("msg_1", 1)))
    assert "msg_1" not in hub.handled  # the hub's resend will be stored, not skipped


def test_the_inbox_file_is_rotated_when_full(tmp_path: Path) -> None:
    from agentplane.contracts.channel import MessageBody

    inbox = MessageInbox(tmp_path, max_bytes=400)
    for n in range(4):
        inbox.append(MessageBody.model_validate(_message(f"msg_{n}", n)))
    older = tmp_path / "inbox.jsonl.1"
    kept = [json.loads(x)["id"] for x in (older.read_text() + inbox.path.read_text()).splitlines()]
    assert kept[-1] == "msg_3" and len(kept) >= 2 and inbox.path.stat().st_size < 800


def test_a_reach_request_probes_the_target_and_publishes_the_result(
    tmp_path: Path, published: Published
) -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        hub = Harness(tmp_path, published)
        body = {"check_id": "chk1", "service_id": "svc_1", "target_host": "127.0.0.1",
                "target_port": port, "mode": "tcp", "timeout_ms": 2000}  # fmt: skip
        ack = await hub.send("r1", "reach.request", body)
        server.close()
        await server.wait_closed()
        closed = await hub.send("r2", "reach.request", {**body, "check_id": "chk2"})
        assert ack.accepted and closed.accepted
        first, second = published.of(AgentChannel.REACH_RESULT)
        assert (first.check_id, first.tcp_status, first.tls_status) == ("chk1", "OK", "N/A")
        assert first.tcp_latency_ms is not None
        assert (second.check_id, second.tcp_status) == ("chk2", "FAILED") and second.tcp_error

    asyncio.run(scenario())


def test_expose_names_the_registered_service_within_the_allow_list() -> None:
    allowed = {("127.0.0.1", 5432)}
    commands = Commands(lambda: {}, lambda host, port: (host, port) in allowed)
    params = {"serviceId": "svc_1", "name": "db", "targetHost": "127.0.0.1",
              "targetPort": 5432, "tunnelPort": 50001, "protocol": "tcp"}  # fmt: skip
    expires = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    body = CommandBody.model_validate({"command_id": "c1", "action": "expose", "params": params,
                                       "expires_at": expires})  # fmt: skip
    result, follow_up = commands.execute(body)
    assert result.outcome == CommandOutcome.SUCCEEDED and follow_up is None
    assert result.result == {"serviceId": "svc_1", "name": "db", "tunnelPort": 50001,
                             "protocol": "tcp", "target": "127.0.0.1:5432"}  # fmt: skip
    other = body.model_copy(update={"params": {**params, "targetPort": 22}})
    refused, _ = commands.execute(other)
    assert refused.outcome == CommandOutcome.FAILED and "--allow" in (refused.error or "")
