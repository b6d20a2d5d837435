"""JSON-schema snapshots of integration events and the rule they must keep: fields only grow.

A snapshot is the validation schema of one `PublicEvent` type at one version, committed
under tests/contracts/event_schemas/. Against it, the current model may only add optional
fields; removing, renaming or retyping a field, or changing whether one is required, breaks
subscribers that read the old form, so it needs a new `VERSION` and an upcaster instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentplane.contracts.events import PublicEvent

# Keys that describe a schema without constraining what validates against it.
_ANNOTATIONS = frozenset({"title", "description", "examples"})


def snapshot_name(model: type[PublicEvent]) -> str:
    return f"{model.TYPE}.v{model.VERSION}.json"


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """`node` with `$ref`s replaced by their definitions and annotations dropped."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {
            key: _inline(value, defs)
            for key, value in node.items()
            if key not in _ANNOTATIONS and key != "$defs"
        }
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def schema_of(model: type[PublicEvent]) -> dict[str, Any]:
    """The snapshot form: the model's JSON schema, self-contained, without annotations."""
    schema = model.model_json_schema()
    inlined = _inline(schema, schema.get("$defs", {}))
    inlined["required"] = sorted(inlined.get("required", []))
    return inlined


def incompatibilities(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why a subscriber of `old` cannot read events of `new` (empty: `new` only added
    optional fields)."""
    problems: list[str] = []
    old_fields, new_fields = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name, schema in old_fields.items():
        if name not in new_fields:
            problems.append(f"field {name!r} removed")
            continue
        if new_fields[name] != schema:
            problems.append(f"field {name!r} changed: {schema} → {new_fields[name]}")
        if (name in old_required) != (name in new_required):
            now = "required" if name in new_required else "optional"
            problems.append(f"field {name!r} is {now} now")
    for name in new_fields.keys() - old_fields.keys():
        if name in new_required:
            problems.append(f"new field {name!r} is required (new fields must be optional)")
    rest = {k: v for k, v in old.items() if k not in ("properties", "required")}
    new_rest = {k: v for k, v in new.items() if k not in ("properties", "required")}
    if rest != new_rest:
        problems.append(f"schema changed: {rest} → {new_rest}")
    return problems


def read_snapshot(directory: Path, model: type[PublicEvent]) -> dict[str, Any] | None:
    path = directory / snapshot_name(model)
    return json.loads(path.read_text()) if path.exists() else None


def write_snapshot(directory: Path, model: type[PublicEvent]) -> Path:
    path = directory / snapshot_name(model)
    path.write_text(json.dumps(schema_of(model), indent=2, sort_keys=True) + "\n")
    return path
