"""Every recorded domain event has one public form, declared in its service's translate.py.

The typed public form is what the relay publishes; these tests pin that it names exactly the
event's public fields, keeps what subscribers saw before byte for byte, never carries a
private field, and that every agent-scoped type has a documented audit entry (or none).
"""

from __future__ import annotations

import importlib
import pkgutil
import typing
from datetime import UTC, datetime
from pathlib import Path
from types import UnionType
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import CanMutateAggregate

from agentplane.contracts.events.event_types import EVENT_TYPES
from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.integration import Translator, to_integration
from agentplane.lifecycle.audit_actions import AUDIT_ENTRIES

SERVICES = ("registry", "heartbeat", "lifecycle", "messaging", "webhooks", "diagnostics")
# Bases eventsourcing asks a topic of but that are never recorded (aggregates start with a
# more specific event); they carry no fields.
NEVER_RECORDED = frozenset({
    "agent.Created", "service.Created", "lifecycle.Created", "command.Created",
    "message.Created", "task.Created", "delivery.Created", "webhook.Created",
    "service_status.Created",
})  # fmt: skip
_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}
_MARKERS = {"TOPIC", "PRIVATE", "AGENT_SCOPED", "AGENT_FIELD"}


def _translator(service: str) -> Translator:
    return importlib.import_module(f"agentplane.{service}.translate").TRANSLATOR


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def _recorded_event_classes(service: str) -> dict[str, type]:
    """TOPIC → the declared domain event class, for one service's domain package."""
    package = importlib.import_module(f"agentplane.{service}.domain")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return {
        cls.TOPIC: cls
        for cls in _subclasses(CanMutateAggregate)
        if cls.__module__.startswith(f"agentplane.{service}.domain")
        and "TOPIC" in vars(cls)
        and cls.TOPIC not in NEVER_RECORDED
    }


def _annotations(cls: type) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        if base.__module__.startswith("agentplane"):
            module = importlib.import_module(base.__module__)
            for name, hint in vars(base).get("__annotations__", {}).items():
                merged[name] = eval(hint, vars(module)) if isinstance(hint, str) else hint
    return {k: v for k, v in merged.items() if k not in _ENVELOPE | _MARKERS}


def _public_names(cls: type) -> set[str]:
    return set(_annotations(cls)) - set(getattr(cls, "PRIVATE", frozenset()))


# Fields whose contract admits fewer values than their domain type.
SAMPLES = {"triggered_by": "user", "url": "https://hooks.example.com/a"}


def _sample(hint: Any) -> Any:
    """A value of `hint` for a synthetic event."""
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        return _sample(next(a for a in typing.get_args(hint) if a is not type(None)))
    if hint is Any:
        return {"k": 1}
    origin = typing.get_origin(hint) or hint
    if origin is list:
        return [_sample(typing.get_args(hint)[0])]
    samples = {str: "x", int: 7, float: 0.5, bool: True, UUID: uuid4(),
               datetime: datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC),
               dict: {"k": "v", "when": datetime(2026, 1, 1, tzinfo=UTC)}}  # fmt: skip
    return samples[origin]


@pytest.mark.parametrize("service", SERVICES)
def test_every_recorded_event_has_exactly_one_public_form(service: str) -> None:
    translator = _translator(service)
    recorded = _recorded_event_classes(service)
    declared = {cls.TOPIC: cls for cls in translator.table}
    assert set(declared) == set(recorded), "translate.py must list every recorded event"
    for topic, cls in recorded.items():
        model = translator.model_of(cls)
        assert model.TYPE == topic
        assert EVENT_TYPES.model(topic) is model
        private = set(getattr(cls, "PRIVATE", frozenset()))
        assert not private & set(model.model_fields), f"{topic} publishes a private field"
        assert set(model.model_fields) == _public_names(cls), topic


@pytest.mark.parametrize("service", SERVICES)
def test_the_typed_wire_is_what_subscribers_read_before(service: str) -> None:
    """Translated `data` equals the untyped public fields it replaced, times included."""
    translator = _translator(service)
    for cls in translator.table:
        fields = {
            name: SAMPLES.get(name) or _sample(hint) for name, hint in _annotations(cls).items()
        }
        extra = {"originator_topic": "x"} if "originator_topic" in cls.__dataclass_fields__ else {}
        event = cls(originator_id=uuid4(), originator_version=1,
                    timestamp=datetime.now(UTC), **extra, **fields)  # fmt: skip
        typed = to_integration(service, 1, event, translator)
        untyped = to_integration(service, 1, event)
        assert typed == untyped, cls.TOPIC
        assert typed.model_dump_json() == untyped.model_dump_json()


def test_every_store_publishes_through_its_translator() -> None:
    for service in SERVICES:
        importlib.import_module(f"agentplane.{service}.main")
    stores = [s for s in _subclasses(ServiceApplication) if s.__module__.startswith("agentplane.")]
    assert {s.name for s in stores} >= set(SERVICES)
    for store in stores:
        assert store.translator is _translator(store.__module__.split(".")[1]), store


def test_every_agent_scoped_type_has_a_documented_audit_row() -> None:
    for service in SERVICES:
        for topic, cls in _recorded_event_classes(service).items():
            scoped = getattr(cls, "AGENT_SCOPED", False) or getattr(cls, "AGENT_FIELD", None)
            model = EVENT_TYPES.model(topic)
            assert (model in AUDIT_ENTRIES) == bool(scoped), topic
    for model, entry in AUDIT_ENTRIES.items():
        assert EVENT_TYPES.model(model.TYPE) is model
        if entry is not None:
            assert set(entry.fields) <= set(model.model_fields), model.TYPE
            assert "workspace_id" not in entry.fields


def test_the_audit_log_document_lists_every_entry() -> None:
    """docs/audit-log.md's table is the one in audit_actions.py, and it names every event
    type that makes no entry as such."""
    doc = (Path(__file__).parents[2] / "docs" / "audit-log.md").read_text()
    rows = set()
    for model, entry in AUDIT_ENTRIES.items():
        if entry is None:
            continue
        keys = ", ".join(f"`{k}`" for k in entry.metadata_keys()) or "—"
        rows.add(f"| `{entry.action}` | `{model.TYPE}` | {keys} |")
    documented = {line for line in doc.splitlines() if line.startswith("| `")}
    assert documented == rows, documented ^ rows
    not_entries = next(line for line in doc.splitlines() if line.startswith("Not entries"))
    for model, entry in AUDIT_ENTRIES.items():
        if entry is None:
            assert f"`{model.TYPE}`" in not_entries, model.TYPE


def test_type_names_other_contracts_spell_out_are_event_types() -> None:
    """Contracts the domains may import name event types as strings; they must exist."""
    from agentplane.contracts.lifecycle_events import AGENT_TRACKED, AGENT_TRANSITIONED
    from agentplane.contracts.tunnels import Tunnels

    for name in (*Tunnels.AGENT_GONE_EVENTS, AGENT_TRACKED, AGENT_TRANSITIONED):
        assert EVENT_TYPES.model(name) is not None, name
    assert any(m.TYPE.startswith(Tunnels.ROUTE_EVENT_PREFIX) for m in EVENT_TYPES.models())
