"""Hub messages: recorded before the ack, repeats acknowledged but not run twice, every
command ends in a result, unserved kinds refused in the ack."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.agent.recorder import Published

from agentplane.agent.commands import NOT_SUPPORTED, Commands
from agentplane.agent.hub import HubDispatch
from agentplane.agent.state import HandledIds
from agentplane.agent.tasks import TaskRunner, default_registry
from agentplane.contracts.channel import ChannelAck, CommandOutcome, HubMessage
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
    assert NOT_SUPPORTED in results["c0"].error and NOT_SUPPORTED in results["c1"].error
    assert "unknown command action 'teleport'" in results["c2"].error
    assert "expired" in results["c9"].error


def test_unserved_kinds_and_invalid_bodies_are_refused_in_the_ack(
    tmp_path: Path, published: Published
) -> None:
    hub = Harness(tmp_path, published)
    reach = asyncio.run(hub.send("r1", "reach.request", {}))
    tunnel = asyncio.run(hub.send("t1", "tunnel.open", {}))
    bad = asyncio.run(hub.send("b1", "config", {"heartbeat_interval_seconds": -5}))
    assert not reach.accepted and NOT_SUPPORTED in (reach.error or "")
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
