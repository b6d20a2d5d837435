"""The relay's bytes of an integration event are exactly what the model would serialise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate, event
from pydantic import ValidationError

from agentplane.eventstore.integration import integration_json, to_integration
from agentplane.registry.domain import Agent, Workspace
from agentplane.registry.translate import TRANSLATOR

from .things import Thing


class Odd(Aggregate):
    """An aggregate whose events fit no envelope: a workspace id that is not a string."""

    TOPIC = "test.Odd"

    class Created(Aggregate.Created):
        TOPIC = "test.Odd.Created"
        workspace_id: int

    @event(Created)
    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id


def _registry_events() -> list[object]:
    now = datetime.now(UTC)
    agent = Agent.register(
        uuid4(), "ws_1", "näme ✓", None, "hash", "apt_abc", now + timedelta(days=30)
    )
    agent.rotate_token("apt_abc", "hash2", "apt_def", None)
    agent.terminate(now)
    workspace = Workspace.create("Acme", "enterprise", "keyhash", "wsk_abc")
    return [*agent.collect_events(), *workspace.collect_events()]


def test_registry_events_publish_the_bytes_of_their_model() -> None:
    for position, recorded in enumerate(_registry_events(), start=1):
        model = to_integration("registry", position, recorded, TRANSLATOR)  # type: ignore[arg-type]
        event_type, event_id, body = integration_json(
            "registry",
            position,
            recorded,
            TRANSLATOR,  # type: ignore[arg-type]
        )
        assert (event_type, event_id) == (model.type, model.id)
        assert body == model.model_dump_json().encode()


def test_events_without_a_translator_publish_the_bytes_of_their_model() -> None:
    thing = Thing(name="ünïcode", colour="blue")
    thing.rename("again")
    for position, recorded in enumerate(thing.collect_events(), start=7):
        model = to_integration("things", position, recorded)
        assert integration_json("things", position, recorded)[2] == model.model_dump_json().encode()


def test_an_event_that_fits_no_envelope_is_refused_as_before() -> None:
    (created,) = Odd(workspace_id=5).collect_events()
    with pytest.raises(ValidationError):
        to_integration("odd", 1, created)
    with pytest.raises(ValidationError):
        integration_json("odd", 1, created)
