"""The inbox read model keeps each message as one document, in the kind of its state, and a
view built with the older two-document layout is rebuilt into it at start."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from agentplane.contracts.messages import ListMessages, MarkMessagesRead, MessageFields, MessageType
from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.messaging.application import Commands, MessagingStore
from agentplane.messaging.message_projection import MESSAGE, UNDELIVERED
from agentplane.messaging.messages import Messages
from agentplane.messaging.projections import MessagingProjection

WS = "ws_1"
FIELDS = MessageFields(
    payload={"n": 1}, channel="c", type=MessageType.EVENT, correlation_id=None, ttl_seconds=3600
)


def test_a_message_is_one_document_that_moves_when_delivered_and_old_views_are_rebuilt(
    tmp_path: Path,
) -> None:
    commands = Commands(MessagingStore(allow_memory=True), SQLiteViewStore(tmp_path / "v.sqlite"))
    assert commands.projector.migrate() == 0
    messages = Messages(commands.store, commands.views, commands.committer, commands.projector)
    sender, to = uuid4(), uuid4()
    sent = messages.send_many([(WS, sender, to, FIELDS)] * 3)
    first, second, third = (s.message_id for s in sent)  # type: ignore[union-attr]
    messages.delivered(first)
    messages.mark_read(MarkMessagesRead(workspace_id=WS, agent_id=to, message_ids=[second]))

    def state() -> tuple[list[tuple[str, str, str]], list[str]]:
        inbox = messages.inbox(ListMessages(workspace_id=WS, agent_id=to, unread_only=False))
        stamps = [(m.message_id, str(m.delivered_at), str(m.read_at)) for m in inbox.messages]
        return stamps, [m.message_id for m in messages.undelivered(str(to))]

    before = state()
    assert sorted(s[0] for s in before[0]) == sorted([first, second, third])
    assert sorted(before[1]) == sorted([second, third])  # the delivered one left the queue
    with commands.views.read() as tx:
        assert [k for k, _ in tx.items(MESSAGE)] == [first]
        assert sorted(k for k, _ in tx.items(UNDELIVERED)) == sorted([second, third])
        assert tx.get(UNDELIVERED, second)["read_at"] is not None  # type: ignore[index]

    # The version 2 layout: every message in MESSAGE, the undelivered also indexed apart.
    with commands.views.transaction() as tx:
        for key, doc in tx.items(UNDELIVERED):
            tx.put(MESSAGE, key, doc, scope=doc["to_agent_id"], sort="")
            entry = {k: doc[k] for k in ("message_id", "to_agent_id", "created_at", "expires_at")}
            tx.put(UNDELIVERED, key, entry, scope=doc["to_agent_id"], sort=doc["created_at"])
        tx.set_position("projection-version:messaging", 2)

    assert commands.projector.migrate() > 0
    assert state() == before
    scratch = SQLiteViewStore(tmp_path / "scratch.sqlite")
    ProjectionRunner(commands.store, scratch, MessagingProjection()).rebuild()
    assert scratch.dump() == commands.views.dump()
