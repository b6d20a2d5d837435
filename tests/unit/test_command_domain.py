"""The remote-command aggregate: its states, refused steps, expiry, and idempotent ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from agentplane.eventstore.integration import to_integration
from agentplane.messaging.domain import (
    Command,
    CommandStatus,
    InvalidTransition,
    command_uuid,
    idempotent_command_uuid,
    public_command_id,
)
from agentplane.messaging.translate import TRANSLATOR

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def queued(ttl: float = 60.0) -> Command:
    return Command.queue(
        uuid4(), "ws_1", "agent-1", "status", {"secret": "x"}, NOW + timedelta(seconds=ttl)
    )


def test_happy_path_records_every_step() -> None:
    command = queued()
    command.deliver(NOW)
    command.acknowledge(NOW)
    command.finish(True, {"state": "ok"}, "", NOW)
    assert command.status is CommandStatus.SUCCEEDED
    topics = [type(e).TOPIC for e in command.collect_events()]
    assert topics == [
        "command.Queued",
        "command.Delivered",
        "command.Acknowledged",
        "command.Succeeded",
    ]


def test_a_result_implies_the_unreported_steps() -> None:
    command = queued()
    command.finish(False, {}, "boom", NOW)
    assert command.status is CommandStatus.FAILED
    assert [type(e).TOPIC for e in command.collect_events()][1:] == [
        "command.Acknowledged",
        "command.Failed",
    ]


def test_an_ack_of_a_queued_command_is_one_event() -> None:
    command = queued()
    command.acknowledge(NOW)
    assert command.status is CommandStatus.ACKNOWLEDGED
    assert [type(e).TOPIC for e in command.collect_events()] == [
        "command.Queued",
        "command.Acknowledged",
    ]


@pytest.mark.parametrize(
    ("prepare", "step"),
    [
        (lambda c: c.finish(True, {}, "", NOW), lambda c: c.finish(True, {}, "", NOW)),
        (lambda c: c.deliver(NOW), lambda c: c.deliver(NOW)),
        (lambda c: c.deliver(NOW), lambda c: c.cancel(NOW)),
        (lambda c: c.cancel(NOW), lambda c: c.acknowledge(NOW)),
        (lambda c: c.cancel(NOW), lambda c: c.expire(NOW + timedelta(hours=1))),
        (lambda c: None, lambda c: c.expire(NOW)),  # not due yet
    ],
)
def test_refused_steps(prepare: object, step: object) -> None:
    command = queued()
    prepare(command)  # type: ignore[operator]
    before = command.status
    with pytest.raises(InvalidTransition):
        step(command)  # type: ignore[operator]
    assert command.status is before


def test_expiry_is_its_own_end_state() -> None:
    command = queued(ttl=1)
    command.deliver(NOW)
    command.expire(NOW + timedelta(seconds=1))
    assert command.status is CommandStatus.EXPIRED and command.final
    with pytest.raises(InvalidTransition):
        command.finish(True, {}, "", NOW)


def test_public_ids_and_idempotency_keys() -> None:
    command = queued()
    assert command.command_id == public_command_id(command.id)
    assert command_uuid(command.command_id) == command.id
    assert command_uuid("cmd_nothex") is None and command_uuid("x") is None
    agent = uuid4()
    assert idempotent_command_uuid("ws", agent, "k") == idempotent_command_uuid("ws", agent, "k")
    assert idempotent_command_uuid("ws", agent, "k") != idempotent_command_uuid("ws2", agent, "k")


def test_integration_events_name_the_agent_and_hide_params_and_results() -> None:
    command = queued()
    command.finish(True, {"token": "y"}, "", NOW)
    events = [
        to_integration("messaging", i + 1, e, TRANSLATOR)
        for i, e in enumerate(command.collect_events())
    ]
    assert all(e.agent_id == "agent-1" for e in events)
    assert all("params" not in e.data and "result" not in e.data for e in events)
    assert events[0].data["command_id"] == command.command_id
