"""Integration event schemas only grow: each type's JSON schema is pinned per version.

`AGENTPLANE_UPDATE_EVENT_SCHEMAS=1` writes the snapshot of a new type or version, and
refreshes one whose only change is a new optional field; it never overwrites a snapshot with
an incompatible schema (that takes a new `VERSION` and an upcaster).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar

import pytest

from agentplane.contracts.events import IntegrationEvent, PublicEvent
from agentplane.contracts.events.event_types import EVENT_TYPES, EventTypes, UnreadableEvent
from agentplane.contracts.events.registry import AgentRegistered
from agentplane.testing.event_schemas import (
    incompatibilities,
    read_snapshot,
    schema_of,
    snapshot_name,
    write_snapshot,
)

SNAPSHOTS = Path(__file__).parent / "event_schemas"
UPDATE = os.environ.get("AGENTPLANE_UPDATE_EVENT_SCHEMAS") == "1"
_NAME = re.compile(r"^(?P<type>[\w.]+)\.v(?P<version>\d+)\.json$")


@pytest.mark.parametrize("model", EVENT_TYPES.models(), ids=lambda m: m.TYPE)
def test_every_event_type_keeps_its_pinned_schema(model: type[PublicEvent]) -> None:
    pinned = read_snapshot(SNAPSHOTS, model)
    if pinned is None:
        if UPDATE:
            write_snapshot(SNAPSHOTS, model)
            return
        pytest.fail(f"no snapshot {snapshot_name(model)}: AGENTPLANE_UPDATE_EVENT_SCHEMAS=1")
    problems = incompatibilities(pinned, schema_of(model))
    assert not problems, (
        f"{model.TYPE} v{model.VERSION} changed incompatibly: {problems}; "
        "publish it as a new VERSION with an upcaster from this one"
    )
    if pinned != schema_of(model):
        if UPDATE:
            write_snapshot(SNAPSHOTS, model)
            return
        pytest.fail(f"{model.TYPE} grew: refresh with AGENTPLANE_UPDATE_EVENT_SCHEMAS=1")


def test_no_snapshot_is_orphaned_and_old_versions_upcast() -> None:
    """A type never disappears, and every older version pinned can still be read."""
    for path in sorted(SNAPSHOTS.glob("*.json")):
        found = _NAME.match(path.name)
        assert found, path.name
        model = EVENT_TYPES.model(found["type"])
        assert model is not None, f"{found['type']} was removed; types are never removed"
        version = int(found["version"])
        assert version <= model.VERSION, path.name
        for old in range(version, model.VERSION):
            assert EVENT_TYPES.has_upcaster(model.TYPE, old), f"no upcaster {model.TYPE} v{old}"


# -- the checker itself -------------------------------------------------------------------


class Base(PublicEvent):
    """The pinned form."""

    TYPE: ClassVar[str] = "test.Thing"
    name: str
    size: int | None = None


class Grown(PublicEvent):
    """Only a new optional field and a new docstring: compatible."""

    TYPE: ClassVar[str] = "test.Thing"
    name: str
    size: int | None = None
    colour: str | None = None


class Removed(PublicEvent):
    """`size` dropped."""

    TYPE: ClassVar[str] = "test.Thing"
    name: str


class Retyped(PublicEvent):
    """`size` became a string."""

    TYPE: ClassVar[str] = "test.Thing"
    name: str
    size: str | None = None


class NewRequired(PublicEvent):
    """A new field without a default."""

    TYPE: ClassVar[str] = "test.Thing"
    name: str
    size: int | None = None
    colour: str


class NowOptional(PublicEvent):
    """`name` may be absent now: subscribers that need it break."""

    TYPE: ClassVar[str] = "test.Thing"
    name: str = ""
    size: int | None = None


def test_the_checker_accepts_growth_only() -> None:
    pinned = schema_of(Base)
    assert incompatibilities(pinned, schema_of(Base)) == []
    assert incompatibilities(pinned, schema_of(Grown)) == []
    for broken, why in [
        (Removed, "field 'size' removed"),
        (Retyped, "field 'size' changed"),
        (NewRequired, "new field 'colour' is required"),
        (NowOptional, "field 'name' is optional now"),
    ]:
        problems = incompatibilities(pinned, schema_of(broken))
        assert any(why in problem for problem in problems), (broken.__name__, problems)


def test_a_deliberately_incompatible_change_to_a_real_event_fails() -> None:
    """`agent.Registered` with `token_prefix` renamed, against its committed snapshot."""

    class Renamed(PublicEvent):
        TYPE: ClassVar[str] = AgentRegistered.TYPE
        workspace_id: str
        name: str | None
        label: str | None
        prefix: str
        token_expires_at: Any = None

    pinned = read_snapshot(SNAPSHOTS, AgentRegistered)
    assert pinned is not None
    problems = incompatibilities(pinned, schema_of(Renamed))
    assert "field 'token_prefix' removed" in problems
    assert any("token_expires_at" in p for p in problems)  # now optional and untyped
    assert any("new field 'prefix' is required" in p for p in problems)


# -- versions and upcasters ---------------------------------------------------------------


class ThingV2(PublicEvent):
    """v2 renamed `size` to `size_bytes` (v1 counted kilobytes)."""

    TYPE: ClassVar[str] = "test.Thing"
    VERSION: ClassVar[int] = 2
    name: str
    size_bytes: int | None = None


def _envelope(version: int, data: dict[str, Any]) -> IntegrationEvent:
    return IntegrationEvent(
        id="test:1", app="test", position=1, type="test.Thing", version=version,
        aggregate_id="x", aggregate_version=1, occurred_at="2026-01-01T00:00:00Z", data=data,
    )  # fmt: skip


def test_older_versions_are_upcast_to_the_current_model() -> None:
    types = EventTypes([ThingV2])
    with pytest.raises(UnreadableEvent):  # no way from v1 yet
        types.parse(_envelope(1, {"name": "a", "size": 2}))

    @types.upcaster("test.Thing", 1)
    def kilobytes_to_bytes(data: dict[str, Any]) -> dict[str, Any]:
        size = data.get("size")
        return {"name": data["name"], "size_bytes": None if size is None else size * 1024}

    assert types.has_upcaster("test.Thing", 1)
    assert types.parse(_envelope(1, {"name": "a", "size": 2})) == ThingV2(name="a", size_bytes=2048)
    assert types.parse(_envelope(2, {"name": "b", "size_bytes": 5})) == ThingV2(
        name="b", size_bytes=5
    )
    with pytest.raises(UnreadableEvent):  # from a newer producer: not guessed at
        types.parse(_envelope(3, {"name": "c"}))
    assert types.parse_as(_envelope(2, {"name": "d"}), Base) is None  # another model
    assert EventTypes([Base]).parse(_envelope(1, {"name": "e", "extra": 1})) == Base(name="e")
