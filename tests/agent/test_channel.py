"""The NATS channel against a real nats-server that is down at start and restarted midway:
the agent connects when it can, says hello on every connect, acks hub messages, and results
published while disconnected arrive after the reconnect."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import nats

from agentplane.agent.backoff import Backoff
from agentplane.agent.channel import Channel
from agentplane.agent.commands import Commands
from agentplane.agent.hub import HubDispatch
from agentplane.agent.state import HandledIds
from agentplane.agent.tasks import TaskRunner, default_registry
from agentplane.contracts.channel import (
    AgentHello,
    ChannelWelcome,
    CommandOutcome,
    CommandResult,
    HubMessage,
)
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import AgentChannel
from agentplane.testing.nats import nats_server_binary

AGENT = "0b0c61e4-8e0e-4c41-9d59-5a3c6c5f0a11"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def nats_on(port: int, workdir: Path) -> Iterator[None]:
    log = open(workdir / f"nats-{port}.log", "ab")
    proc = subprocess.Popen(
        [str(nats_server_binary()), "-a", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(10)


async def eventually(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def test_channel_survives_a_nats_restart(tmp_path: Path) -> None:
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    welcomes: list[float] = []

    async def scenario() -> None:
        handled = HandledIds(tmp_path / "handled.json")
        channel: Channel

        async def publish(kind: str, model: object) -> None:
            await channel.publish(kind, model)  # type: ignore[arg-type]

        async def after(action: str) -> None:
            pass

        tasks = TaskRunner(default_registry(), publish)
        dispatch = HubDispatch(
            handled, Commands(lambda: {"ok": True}), tasks, publish, lambda s: None, after
        )
        channel = Channel(
            AGENT, lambda: [url], lambda: "secret-password", dispatch,
            lambda: AgentHello(agent_version="0.1.0", seen=handled.recent(10)),
            lambda w: welcomes.append(w.heartbeat_interval_seconds),
        )  # fmt: skip
        channel.backoff = Backoff(base=0.05, cap=0.5)
        channel.hello_backoff = Backoff(base=0.05, cap=0.2)
        runner = asyncio.create_task(channel.run())
        await asyncio.sleep(0.5)  # no server yet: connect failures are retried
        assert channel.connects == 0

        hellos: list[dict[str, object]] = []
        results: list[dict[str, object]] = []

        async def hub_client() -> nats.aio.client.Client:
            nc = await nats.connect(url)

            async def on_hello(msg: nats.aio.msg.Msg) -> None:
                hellos.append(json.loads(msg.data))
                welcome = ChannelWelcome(agent_id=AGENT, heartbeat_interval_seconds=7.0)
                await msg.respond(Reply.success(welcome).model_dump_json().encode())

            async def on_result(msg: nats.aio.msg.Msg) -> None:
                results.append(json.loads(msg.data))

            await nc.subscribe(AgentChannel.from_agent(AGENT, AgentChannel.HELLO), cb=on_hello)
            await nc.subscribe(AgentChannel.from_agent(AGENT, AgentChannel.RESULT), cb=on_result)
            await nc.flush()
            return nc

        with nats_on(port, tmp_path):
            hub = await hub_client()
            await eventually(lambda: channel.connected and welcomes)
            message = HubMessage(
                id="m1", kind="command", sent_at=datetime.now(UTC),  # type: ignore[arg-type]
                body={"command_id": "c1", "action": "status", "expires_at": "2999-01-01T00:00:00Z"},
            )  # fmt: skip
            reply = await hub.request(
                AgentChannel.inbox(AGENT), message.model_dump_json().encode(), timeout=5
            )
            assert json.loads(reply.data) == {"message_id": "m1", "accepted": True, "error": None}
            await eventually(lambda: len(results) == 1)
            await hub.close()
        await eventually(lambda: not channel.connected)
        offline = CommandResult(
            command_id="c2", outcome=CommandOutcome.SUCCEEDED, finished_at=datetime.now(UTC)
        )
        await channel.publish(AgentChannel.RESULT, offline)
        assert len(channel.outbox) == 1
        with nats_on(port, tmp_path):
            hub = await hub_client()
            await eventually(lambda: channel.connects == 2 and len(hellos) == 2, timeout=15)
            await eventually(lambda: len(results) == 2)
            assert results[1]["command_id"] == "c2" and not channel.outbox
            # The second hello names the message handled before the restart.
            assert hellos[1]["seen"] == ["m1"]
            await hub.close()
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await channel.close()

    asyncio.run(scenario())
    assert welcomes == [7.0, 7.0]
