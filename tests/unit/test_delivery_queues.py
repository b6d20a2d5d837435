"""What the faster send and delivery paths rest on, on an in-memory store and a SQLite view:
concurrent sends recorded in shared batches without sharing failures, the delivery queues
read a window at a time in the order sent, and (over a real NATS server) a burst of sends to
one agent delivered by one queued pass."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from nats.aio.msg import Msg

from agentplane.bus.connection import connect
from agentplane.contracts.channel import ChannelAck, CommandAction, HubMessage
from agentplane.contracts.commands import GetCommand, SendCommand
from agentplane.contracts.messages import MessageFields, MessageType
from agentplane.contracts.subjects import AgentChannel
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.messaging.application import Commands, MessagingStore
from agentplane.messaging.delivery import Deliverer
from agentplane.messaging.first_pages import FirstPage
from agentplane.messaging.messages import Messages
from agentplane.messaging.thread_batches import ThreadBatches
from agentplane.testing.nats import NatsServer

WS = "ws_1"


@pytest.fixture
def commands(tmp_path: Path) -> Commands:
    return Commands(MessagingStore(allow_memory=True), SQLiteViewStore(tmp_path / "v.sqlite"))


def fields(n: int) -> MessageFields:
    return MessageFields(
        payload={"n": n}, channel="c", type=MessageType.EVENT, correlation_id=None,
        ttl_seconds=3600,
    )  # fmt: skip


@pytest.mark.parametrize("on_loop", [False, True])
def test_concurrent_submits_share_batches_and_keep_their_own_results_and_errors(
    on_loop: bool,
) -> None:
    seen: list[list[int]] = []
    threads: set[bool] = set()

    def run(items: list[int]) -> list[int | BaseException]:
        seen.append(items)
        threads.add(threading.current_thread() is threading.main_thread())
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    async def scenario() -> list[int | BaseException]:
        batches = ThreadBatches(run, on_loop=on_loop)
        return await asyncio.gather(*(batches.submit(i) for i in range(100)),
                                    return_exceptions=True)  # fmt: skip

    results = asyncio.run(scenario())
    assert [r for r in results if not isinstance(r, BaseException)] == list(range(0, 1000, 20))
    assert [str(r) for r in results if isinstance(r, BaseException)] == [
        f"odd {i}" for i in range(1, 100, 2)
    ]
    # Every item ran exactly once, in order, and they did not each get a batch of their own.
    assert [i for batch in seen for i in batch] == list(range(100))
    assert len(seen) < 100
    # On the loop's own thread, or in another one.
    assert threads == {on_loop}


def test_a_batch_that_raises_fails_each_of_its_members_and_the_next_batch_still_runs() -> None:
    calls: list[list[str]] = []

    def run(items: list[str]) -> list[str | BaseException]:
        calls.append(items)
        if "boom" in items:
            raise RuntimeError("store down")
        return [i.upper() for i in items]

    async def scenario() -> tuple[list[str | BaseException], str]:
        batches = ThreadBatches(run)
        first = await asyncio.gather(batches.submit("a"), batches.submit("boom"),
                                     return_exceptions=True)  # fmt: skip
        return first, await batches.submit("b")

    first, later = asyncio.run(scenario())
    assert all(isinstance(r, RuntimeError) for r in first)
    assert later == "B"


def test_send_many_records_every_message_in_one_group(commands: Commands) -> None:
    messages = Messages(commands.store, commands.views, commands.committer, commands.projector)
    sender, recipient = uuid4(), uuid4()
    groups = commands.committer.groups
    results = messages.send_many([(WS, sender, recipient, fields(n)) for n in range(5)])
    assert commands.committer.groups == groups + 1
    ids = [r.message_id for r in results if not isinstance(r, BaseException)]
    assert len(ids) == 5
    # Read back in the order sent, one window at a time, each window continuing the last.
    first, after = messages.undelivered_page(str(recipient), None, 2)
    rest, end = messages.undelivered_page(str(recipient), after, 10)
    assert [m.message_id for m in first + rest] == ids and end is None
    assert [m.payload["n"] for m in first + rest] == list(range(5))


def test_agents_with_undelivered_are_the_recipients_still_waiting(commands: Commands) -> None:
    messages = Messages(commands.store, commands.views, commands.committer, commands.projector)
    sender, waiting, served = uuid4(), uuid4(), uuid4()
    sent = [messages.send(WS, sender, to, fields(n)) for n, to in enumerate([waiting, served])]
    messages.send(WS, sender, waiting, fields(2))
    assert messages.agents_with_undelivered() == {str(waiting), str(served)}
    messages.delivered_many([sent[1].message_id])
    messages.delivered_many([sent[0].message_id])  # one of waiting's two: it still waits
    assert messages.agents_with_undelivered() == {str(waiting)}


def test_a_sent_commands_answer_is_its_view_document_as_the_projection_wrote_it(
    commands: Commands,
) -> None:
    agent = uuid4()
    cmd = SendCommand(workspace_id=WS, agent_id=agent, action=CommandAction.STATUS,
                      params={"n": 1}, ttl_seconds=60)  # fmt: skip
    answer, replayed, position = commands.send(cmd)
    stored = commands.get(GetCommand(workspace_id=WS, agent_id=agent, command_id=answer.command_id))
    assert not replayed and position > 0
    assert answer.params is None and stored.params == {"n": 1}
    assert answer == stored.model_copy(update={"params": None})


def test_pending_pages_follow_the_order_sent_and_skip_acknowledged_commands(
    commands: Commands,
) -> None:
    agent = uuid4()
    sent = []
    start = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    for n in range(7):
        commands.clock = lambda n=n: start + timedelta(seconds=n)
        cmd = SendCommand(workspace_id=WS, agent_id=agent, action=CommandAction.STATUS,
                          params={"n": n})  # fmt: skip
        sent.append(commands.send(cmd)[0].command_id)
    commands.acknowledged_many([sent[1], sent[4]])
    waiting = [c for c in sent if c not in (sent[1], sent[4])]

    pages, after = [], None
    while True:
        page, after = commands.pending_page(str(agent), after, 2)
        pages.append([d["command_id"] for d in page])
        if after is None:
            break
    assert [c for page in pages for c in page] == waiting
    assert all(len(page) <= 2 for page in pages)
    # The documents carry what a hub message needs: no second read per command.
    first, _ = commands.pending_page(str(agent), None, 1)
    assert first[0]["params"] == {"n": 0} and first[0]["action"] == "status"
    assert commands.pending_count(str(agent)) == len(waiting)
    assert [c.command_id for c in commands.pending(str(agent))] == waiting


def test_a_burst_of_sends_to_one_agent_queues_one_delivery_behind_the_running_one(
    commands: Commands, nats_server: NatsServer
) -> None:
    """Sends that arrive while a delivery is out share one queued pass (it reads after they
    were recorded), and the agent still gets every message once, in the order sent."""
    messages = Messages(commands.store, commands.views, commands.committer, commands.projector)
    sender, recipient = uuid4(), uuid4()
    agent = str(recipient)

    async def scenario() -> tuple[int, list[str], list[str]]:
        nc = await connect(nats_server.url, "delivery-test")
        deliverer = Deliverer(nc, commands, None, messages)
        received: list[str] = []
        first_arrived, release = asyncio.Event(), asyncio.Event()

        async def on_hub(msg: Msg) -> None:
            hub = HubMessage.model_validate_json(msg.data)
            received.append(hub.id)
            first_arrived.set()
            await release.wait()  # the first delivery stays out while the burst arrives
            await msg.respond(ChannelAck(message_id=hub.id).model_dump_json().encode())

        await nc.subscribe(AgentChannel.inbox(agent), cb=on_hub)
        sent = [messages.send(WS, sender, recipient, fields(0)).message_id]
        deliverer.soon(agent)
        await asyncio.wait_for(first_arrived.wait(), 10)
        for n in range(1, 21):
            sent.append(messages.send(WS, sender, recipient, fields(n)).message_id)
            deliverer.soon(agent)
        in_flight = len(deliverer._tasks)
        release.set()
        while deliverer._tasks:
            await asyncio.gather(*deliverer._tasks)
        await nc.close()
        return in_flight, sent, received

    in_flight, sent, received = asyncio.run(scenario())
    assert in_flight == 2  # the running delivery and one queued behind it, not one per send
    assert received == sent
    assert messages.undelivered(agent) == []


def test_a_first_page_read_with_the_command_is_sent_unless_a_delivery_ran_since(
    commands: Commands, nats_server: NatsServer
) -> None:
    """The page read in the recording thread saves the delivery its first read; one read
    before another delivery ran is stale and read again (nothing is sent twice)."""
    agent = uuid4()
    reads: list[object] = []
    read_page = commands.pending_page

    def counted_page(*args: object) -> object:
        reads.append(args)
        return read_page(*args)  # type: ignore[arg-type]

    commands.pending_page = counted_page  # type: ignore[method-assign]

    def record(n: int) -> str:
        cmd = SendCommand(workspace_id=WS, agent_id=agent, action=CommandAction.STATUS,
                          params={"n": n})  # fmt: skip
        return commands.send(cmd)[0].command_id

    async def scenario() -> tuple[list[str], list[str], int, int, int | None]:
        nc = await connect(nats_server.url, "first-page-test")
        deliverer = Deliverer(nc, commands, None)
        received: list[str] = []

        async def on_hub(msg: Msg) -> None:
            hub = HubMessage.model_validate_json(msg.data)
            received.append(hub.id)
            await msg.respond(ChannelAck(message_id=hub.id).model_dump_json().encode())

        await nc.subscribe(AgentChannel.inbox(str(agent)), cb=on_hub)
        await nc.flush()
        # Fresh: its first page is used, only the next (empty) one is read.
        generation = deliverer.first_page_generation(str(agent))
        assert generation is not None
        sent = [record(0)]
        page, after = read_page(str(agent), None, 1)
        reads.clear()
        await deliverer.deliver(str(agent), first=FirstPage(generation, page, after))
        fresh_reads = len(reads)
        # Stale: read before a delivery that sent the command already.
        generation = deliverer.first_page_generation(str(agent))
        assert generation is not None
        sent.append(record(1))
        page, after = read_page(str(agent), None, 1)
        await deliverer.deliver(str(agent))
        reads.clear()
        await deliverer.deliver(str(agent), first=FirstPage(generation, page, after))
        stale_reads = len(reads)
        # A delivery out: nothing is read ahead for it.
        lock = deliverer._locks[str(agent)]
        async with lock:
            busy = deliverer.first_page_generation(str(agent))
        await nc.close()
        return sent, received, fresh_reads, stale_reads, busy

    sent, received, fresh_reads, stale_reads, busy = asyncio.run(scenario())
    assert received == sent  # each once, in order
    assert fresh_reads == 1 and stale_reads == 1
    assert busy is None
    assert commands.pending_page(str(agent), None, 10) == ([], None)
