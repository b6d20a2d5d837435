"""Seed 004 agent reports: the heartbeat and metrics bodies, checked field by field.

Hand-written rather than a pydantic model so every 400 names the field and says what the
document requires of it. A heartbeat carries `mode` and `uptime_seconds` and nothing else
(zombie prevention: resource data in a heartbeat is refused, not dropped); metrics carry
the four documented fields and nothing else (agent-specific values go in `custom_metrics`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, cast

from fastapi import Request

from agentplane.contracts.errors import invalid
from agentplane.contracts.pap import HEARTBEAT_MODES, PapMode

HEARTBEAT_FIELDS = ("mode", "uptime_seconds")
METRICS_FIELDS = ("cpu_percent", "memory_mb", "requests_handled", "custom_metrics")
# A metrics report is small; a bigger one is refused before it reaches the telemetry channel.
MAX_CUSTOM_METRICS_BYTES = 16 * 1024


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; 400 otherwise."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        raise invalid("Request body must be valid JSON", field="body") from None
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object", field="body")
    return body


def _refuse_unknown(body: dict[str, Any], allowed: tuple[str, ...], hint: str) -> None:
    extra = sorted(k for k in body if k not in allowed)
    if extra:
        noun = "Field" if len(extra) == 1 else "Fields"
        raise invalid(
            f"{noun} not allowed: {', '.join(extra)}. {hint}",
            field=extra[0],
            fields=extra,
            allowed=list(allowed),
        )


def _number(
    body: dict[str, Any], name: str, low: float, high: float | None = None, integer: bool = False
) -> float:
    """A required JSON number within bounds (booleans, strings, NaN and infinity refused).

    An `integer` may be written 45 or 45.0 and comes back as an int.
    """
    if name not in body or body[name] is None:
        raise invalid(f"{name} is required", field=name)
    value = body[name]
    bounds = f">= {low:g}" if high is None else f"between {low:g} and {high:g}"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < low
        or (high is not None and value > high)
        or (integer and not float(value).is_integer())
    ):
        raise invalid(
            f"{name} must be {'an integer' if integer else 'a number'} {bounds}", field=name
        )
    return int(value) if integer else value


@dataclass(frozen=True)
class PapHeartbeat:
    """A valid heartbeat body."""

    mode: PapMode
    uptime_seconds: float

    def telemetry(self) -> dict[str, Any]:
        return {"mode": self.mode, "uptime_seconds": self.uptime_seconds}


def heartbeat_body(body: dict[str, Any]) -> PapHeartbeat:
    _refuse_unknown(
        body,
        HEARTBEAT_FIELDS,
        "Heartbeats carry only mode and uptime_seconds; send resource data to the metrics "
        "endpoint.",
    )
    mode = body.get("mode")
    if mode is None:
        raise invalid("mode is required", field="mode")
    if not isinstance(mode, str) or mode not in HEARTBEAT_MODES:
        raise invalid(f"mode must be one of {', '.join(HEARTBEAT_MODES)}", field="mode")
    return PapHeartbeat(cast(PapMode, mode), _number(body, "uptime_seconds", 0))


def metrics_body(body: dict[str, Any]) -> dict[str, Any]:
    """The telemetry message of a valid metrics body (`custom_metrics` defaults to {})."""
    _refuse_unknown(body, METRICS_FIELDS, "Put agent-specific values in custom_metrics.")
    cpu = _number(body, "cpu_percent", 0, 100)
    memory = _number(body, "memory_mb", 0)
    requests_handled = _number(body, "requests_handled", 0, integer=True)
    custom = body.get("custom_metrics")
    if custom is None:
        custom = {}
    if not isinstance(custom, dict):
        raise invalid("custom_metrics must be an object", field="custom_metrics")
    try:
        size = len(json.dumps(custom, allow_nan=False))
    except ValueError:
        raise invalid(
            "custom_metrics must not hold NaN or Infinity", field="custom_metrics"
        ) from None
    if size > MAX_CUSTOM_METRICS_BYTES:
        raise invalid(
            f"custom_metrics must not exceed {MAX_CUSTOM_METRICS_BYTES} bytes as JSON",
            field="custom_metrics",
        )
    return {
        "cpu_percent": cpu,
        "memory_mb": memory,
        "requests_handled": requests_handled,
        "custom_metrics": custom,
    }
