"""Translation of recorded domain events into public integration events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.utils import get_topic
from pydantic import TypeAdapter
from typing_extensions import TypedDict

from agentplane.contracts.events import IntegrationEvent, PublicEvent

_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def _public(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_public(v) for v in value]
    return value


def event_topic(event: DomainEventProtocol[Any]) -> str:
    """The stable topic of an event (its explicit TOPIC)."""
    return event_topic_of(type(event))


def public_fields(event: DomainEventProtocol[Any]) -> dict[str, Any]:
    """The attributes of a domain event but its envelope and the fields it names `PRIVATE`."""
    cls = type(event)
    private = _private_of.get(cls)
    if private is None:
        private = _private_of[cls] = _ENVELOPE | frozenset(getattr(cls, "PRIVATE", ()))
    # The relay asks this of every event it publishes: plain strings (most values) skip
    # `_public`'s type tests.
    return {
        k: v if type(v) is str else _public(v)
        for k, v in vars(event).items()
        if k not in private and not k.startswith("_")
    }


# Event class → the attribute names `public_fields` leaves out (envelope and PRIVATE).
_private_of: dict[type, frozenset[str]] = {}


class Translator:
    """Domain event class → its public model: the table a service's `translate.py` declares.

    The model is filled from the event's public fields; fields it does not declare are
    dropped, so nothing leaves the service that the contract does not name.
    """

    def __init__(self, table: Mapping[type, type[PublicEvent]]) -> None:
        self.table = dict(table)
        self._resolved: dict[type, type[PublicEvent]] = {}
        for event_class, model in table.items():
            # Also the class that declares the TOPIC, which eventsourcing's `@event` wraps.
            declared = next((c for c in event_class.__mro__ if "TOPIC" in vars(c)), event_class)
            self._resolved[declared] = self._resolved[event_class] = model

    def model_of(self, event_class: type) -> type[PublicEvent]:
        """The model of `event_class` or of the nearest class it derives from in the table.

        (eventsourcing's `@event` wraps a declared event class in a subclass.)
        """
        model = self._resolved.get(event_class)
        if model is None:
            found = next((c for c in event_class.__mro__ if c in self.table), None)
            if found is None:
                raise KeyError(f"no public form for {event_topic_of(event_class)}")
            model = self._resolved[event_class] = self.table[found]
        return model

    def __call__(self, event: DomainEventProtocol[Any]) -> PublicEvent:
        return self.model_of(type(event)).model_validate(public_fields(event))

    def wire_form(
        self, event: DomainEventProtocol[Any]
    ) -> tuple[type[PublicEvent], dict[str, Any]]:
        """The model of `event` and its `data` as published, validated against the model.

        The public fields are JSON already; when they fill every field of the model they are
        the data as they are (re-serialising the model would cost as much again per event).
        """
        model = self.model_of(type(event))
        fields = public_fields(event)
        public = model.model_validate(fields)
        if fields.keys() == _field_names(model):
            return model, fields
        return model, public.model_dump(mode="json")


def _field_names(model: type[PublicEvent]) -> frozenset[str]:
    names = _names_of.get(model)
    if names is None:
        names = _names_of[model] = frozenset(model.model_fields)
    return names


_names_of: dict[type, frozenset[str]] = {}


def event_topic_of(event_class: type) -> str:
    return getattr(event_class, "TOPIC", None) or get_topic(event_class)


def to_integration(
    app: str,
    position: int,
    event: DomainEventProtocol[Any],
    translator: Translator | None = None,
) -> IntegrationEvent:
    """The public form of a recorded event: its `translator`'s typed model as `data`.

    Without a translator (libraries' own test aggregates) `data` is the public fields as
    they are. Fields an event class names in `PRIVATE` (hashes of secrets and the like) never
    leave the service. Events of aggregates with `AGENT_SCOPED = True` concern the agent
    whose id is the aggregate id; events naming an `AGENT_FIELD` concern the agent that field
    holds.
    """
    return IntegrationEvent(**_envelope(app, position, event, translator))


def integration_json(
    app: str,
    position: int,
    event: DomainEventProtocol[Any],
    translator: Translator | None = None,
) -> tuple[str, str, bytes]:
    """(type, id, JSON) of `to_integration(…)`, the same bytes as its `model_dump_json`.

    What the relay publishes for every event: the envelope's fields are built here with
    their declared types, so validating them into a model only to serialise it again costs
    the relay twice per event and checks nothing. `data` is validated by the translator.
    """
    envelope = _envelope(app, position, event, translator)
    typed = (
        type(envelope["occurred_at"]) is datetime
        and type(envelope["aggregate_version"]) is int
        and type(position) is int
        and _str_or_none(envelope["workspace_id"])
        and _str_or_none(envelope["agent_id"])
    )
    if typed:
        body = _ENVELOPE_JSON.dump_json(envelope)  # type: ignore[arg-type]
    else:  # whatever else it is, the model decides (and refuses what does not fit)
        body = IntegrationEvent(**envelope).model_dump_json().encode()
    return envelope["type"], envelope["id"], body


def _str_or_none(value: object) -> bool:
    return value is None or type(value) is str


def _envelope(
    app: str,
    position: int,
    event: DomainEventProtocol[Any],
    translator: Translator | None,
) -> dict[str, Any]:
    version = 1
    if translator is None:
        fields = public_fields(event)
    else:
        model, fields = translator.wire_form(event)
        version = model.VERSION
    aggregate_id = str(event.originator_id)
    agent_field = getattr(type(event), "AGENT_FIELD", None)
    agent_id = (
        aggregate_id
        if getattr(type(event), "AGENT_SCOPED", False)
        else (fields.get(agent_field) if agent_field else None)
    )
    return {
        "id": f"{app}:{position}",
        "app": app,
        "position": position,
        "type": event_topic(event),
        "version": version,
        "aggregate_id": aggregate_id,
        "aggregate_version": event.originator_version,
        "occurred_at": event.timestamp,
        "workspace_id": fields.get("workspace_id"),
        "agent_id": agent_id,
        "data": fields,
    }


# `IntegrationEvent`'s fields in its order and types, to serialise a dict as the model would
# (derived, so a field the model gains is never missing here).
_Envelope = TypedDict(  # type: ignore[misc]
    "_Envelope",
    {name: field.annotation for name, field in IntegrationEvent.model_fields.items()},
)
_ENVELOPE_JSON = TypeAdapter(_Envelope)
