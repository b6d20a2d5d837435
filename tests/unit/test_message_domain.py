"""The message aggregate: delivery and read once, expiry, cancellation, private payload."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from agentplane.eventstore.integration import to_integration
from agentplane.messaging.domain import (
    Message,
    MessageGone,
    message_uuid,
    public_message_id,
    sent_event,
    time_ordered_uuid,
)
from agentplane.messaging.translate import TRANSLATOR

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def sent(ttl: float = 60.0) -> Message:
    return Message.send(
        uuid4(), "ws_1", "agent-a", "agent-b", "tasks", "request",
        {"secret": "x"}, "req_1", NOW + timedelta(seconds=ttl),
    )  # fmt: skip


def topics(message: Message) -> list[str]:
    return [type(e).TOPIC for e in message.collect_events()]


def test_delivered_and_read_are_recorded_once() -> None:
    message = sent()
    assert message.deliver(NOW) and not message.deliver(NOW)
    assert message.read(NOW) and not message.read(NOW + timedelta(seconds=1))
    assert message.read_at == NOW
    assert topics(message) == ["message.Sent", "message.Delivered", "message.Read"]


def test_an_expired_message_takes_no_more_steps() -> None:
    message = sent(ttl=10)
    assert not message.expire(NOW)  # not due yet
    assert message.expire(NOW + timedelta(seconds=10))
    assert not message.expire(NOW + timedelta(seconds=11))
    for step in (message.deliver, message.read):
        with pytest.raises(MessageGone):
            step(NOW)
    assert not message.cancel(NOW)


def test_an_undelivered_message_of_a_gone_agent_is_cancelled_once_and_never_expires() -> None:
    message = sent(ttl=10)
    assert message.cancel(NOW) and not message.cancel(NOW)
    assert not message.expire(NOW + timedelta(seconds=20))
    with pytest.raises(MessageGone):
        message.deliver(NOW)
    assert topics(message) == ["message.Sent", "message.Cancelled"]


def test_a_delivered_message_is_not_cancelled() -> None:
    message = sent()
    message.deliver(NOW)
    assert not message.cancel(NOW)
    assert "message.Cancelled" not in topics(message)


def test_payload_and_correlation_id_never_leave_the_service() -> None:
    message = sent()
    message.cancel(NOW)
    for position, event in enumerate(message.collect_events(), 1):
        public = to_integration("messaging", position, event, TRANSLATOR)
        assert "payload" not in public.data and "correlation_id" not in public.data
        assert public.agent_id == "agent-b"


def test_public_ids_round_trip_and_refuse_anything_else() -> None:
    uuid = uuid4()
    assert message_uuid(public_message_id(uuid)) == uuid
    assert message_uuid("cmd_" + uuid.hex) is None
    assert message_uuid("msg_not-hex") is None


def test_the_sent_event_built_alone_is_the_one_send_records_and_loads_the_same_message() -> None:
    uuid = uuid4()
    args = ("ws_1", "agent-a", "agent-b", "tasks", "request", {"k": 1}, "req_1", NOW)
    (recorded,) = Message.send(uuid, *args).collect_events()
    alone = sent_event(uuid, *args)
    assert type(alone) is type(recorded)
    mine, theirs = dict(vars(alone)), dict(vars(recorded))
    assert mine.pop("timestamp") >= theirs.pop("timestamp")  # built a moment later
    assert mine == theirs
    loaded: Message = alone.mutate(None)  # what the repository does when it loads it
    assert loaded.id == uuid and loaded.version == 1
    assert (loaded.message_id, loaded.to_agent_id, loaded.expires_at) == (
        public_message_id(uuid), "agent-b", NOW,
    )  # fmt: skip
    assert loaded.deliver(NOW - timedelta(seconds=1))


def test_time_ordered_ids_are_version_7_sort_by_their_millisecond_and_keep_74_random_bits() -> None:
    ids = [time_ordered_uuid(NOW + timedelta(milliseconds=ms), os.urandom(10)) for ms in range(50)]
    assert all(u.version == 7 and u.variant == "specified in RFC 4122" for u in ids)
    assert ids == sorted(ids) and [u.hex for u in ids] == sorted(u.hex for u in ids)
    assert all(u.int >> 80 == int(NOW.timestamp() * 1000) + ms for ms, u in enumerate(ids))
    # The entropy fills every bit but the version and variant: all ones / all zeros show it.
    ones, zeros = time_ordered_uuid(NOW, b"\xff" * 10), time_ordered_uuid(NOW, bytes(10))
    random_bits = (ones.int ^ zeros.int).bit_count()
    assert random_bits == 74
    same_ms = {time_ordered_uuid(NOW, os.urandom(10)) for _ in range(1000)}
    assert len(same_ms) == 1000
    # A message id made from one is a public id like any other.
    assert message_uuid(public_message_id(ids[0])) == ids[0] == UUID(hex=ids[0].hex)
