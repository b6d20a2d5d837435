"""Every integration event type → its current model; parsing with upcasting of old versions.

Consumers call `EVENT_TYPES.parse(event)` (or `parse_as` for the one type they handle) and
read typed fields, never `IntegrationEvent.data`'s keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from agentplane.contracts.events import (
    diagnostics,
    heartbeat,
    lifecycle,
    messaging,
    registry,
    registry_workspace,
    webhooks,
)
from agentplane.contracts.events.envelope import IntegrationEvent
from agentplane.contracts.events.public import PublicEvent

E = TypeVar("E", bound=PublicEvent)
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

PRODUCERS = (registry, registry_workspace, heartbeat, lifecycle, messaging, webhooks, diagnostics)


class UnreadableEvent(ValueError):
    """An event of a version this process cannot bring to its model's version."""


def _models_of(modules: Iterable[Any]) -> list[type[PublicEvent]]:
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, PublicEvent)
        and value.__module__ == module.__name__
    ]


class EventTypes:
    """Type string → current model, and (type, old version) → upcaster to the next version."""

    def __init__(self, models: Iterable[type[PublicEvent]]) -> None:
        self._models: dict[str, type[PublicEvent]] = {}
        for model in models:
            if model.TYPE in self._models:
                raise ValueError(f"two models for {model.TYPE}")
            self._models[model.TYPE] = model
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def models(self) -> list[type[PublicEvent]]:
        return sorted(self._models.values(), key=lambda model: model.TYPE)

    def model(self, event_type: str) -> type[PublicEvent] | None:
        return self._models.get(event_type)

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register `data` of `from_version` → `data` of `from_version + 1`."""

        def register(function: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = function
            return function

        return register

    def has_upcaster(self, event_type: str, from_version: int) -> bool:
        return (event_type, from_version) in self._upcasters

    def parse(self, event: IntegrationEvent) -> PublicEvent | None:
        """The typed `data` of `event` at its model's version; None for a type not listed.

        Raises `UnreadableEvent` for a version with no way to the current one and pydantic's
        `ValidationError` (also a `ValueError`) for data that does not fit.
        """
        model = self._models.get(event.type)
        if model is None:
            return None
        data, version = event.data, event.version
        if version > model.VERSION:
            raise UnreadableEvent(f"{event.type} v{version} is newer than v{model.VERSION}")
        while version < model.VERSION:
            upcast = self._upcasters.get((event.type, version))
            if upcast is None:
                raise UnreadableEvent(f"no upcaster for {event.type} v{version}")
            data, version = upcast(data), version + 1
        return model.model_validate(data)

    def parse_as(self, event: IntegrationEvent, model: type[E]) -> E | None:
        """The typed `data` of `event` when it is of `model`'s type, else None."""
        if event.type != model.TYPE:
            return None
        parsed = self.parse(event)
        return parsed if isinstance(parsed, model) else None


EVENT_TYPES = EventTypes(_models_of(PRODUCERS))
