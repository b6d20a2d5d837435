"""Seed 004 heartbeat and metrics bodies: what is accepted, and the 400 for everything else."""

from __future__ import annotations

from typing import Any

import pytest

from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.gateway.pap_reports import heartbeat_body, metrics_body

DOC_METRICS = {
    "cpu_percent": 12.5,
    "memory_mb": 128,
    "requests_handled": 45,
    "custom_metrics": {"queue_depth": 3, "cache_hit_rate": 0.85},
}
BAD_MODE = "mode must be one of EMERGENCY, IDLE, SLEEP"
BAD_UPTIME = "uptime_seconds must be a number >= 0"
BAD_COUNT = "requests_handled must be an integer >= 0"
NOT_FINITE = "custom_metrics must not hold NaN or Infinity"
NAN, INF = float("nan"), float("inf")
TOO_BIG = "custom_metrics must not exceed 16384 bytes as JSON"


def refused(parse: Any, body: dict[str, Any]) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        parse(body)
    assert info.value.kind is ErrorKind.VALIDATION
    return info.value


@pytest.mark.parametrize("mode", ["EMERGENCY", "IDLE", "SLEEP"])
def test_heartbeat_modes(mode: str) -> None:
    # The interval each mode allows is the heartbeat service's (test_heartbeat_deadlines.py).
    beat = heartbeat_body({"mode": mode, "uptime_seconds": 330})
    assert beat.mode == mode
    assert beat.telemetry() == {"mode": mode, "uptime_seconds": 330}
    assert heartbeat_body({"mode": mode, "uptime_seconds": 0.5}).uptime_seconds == 0.5


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"cpu_percent": 12}, "cpu_percent"),
        ({"memory_mb": 128, "cpu_percent": 1}, "cpu_percent, memory_mb"),
        ({"status": "ok"}, "status"),
        ({"uptime": 3}, "uptime"),
    ],
)
def test_heartbeat_refuses_any_other_field(extra: dict[str, Any], named: str) -> None:
    error = refused(heartbeat_body, {"mode": "IDLE", "uptime_seconds": 1, **extra})
    assert f"not allowed: {named}." in error.body.message
    assert error.body.details["field"] == sorted(extra)[0]
    assert error.body.details["allowed"] == ["mode", "uptime_seconds"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"uptime_seconds": 1}, "mode", "mode is required"),
        ({"mode": None, "uptime_seconds": 1}, "mode", "mode is required"),
        ({"mode": "idle", "uptime_seconds": 1}, "mode", BAD_MODE),
        ({"mode": "BUSY", "uptime_seconds": 1}, "mode", BAD_MODE),
        ({"mode": 1, "uptime_seconds": 1}, "mode", BAD_MODE),
        ({"mode": "IDLE"}, "uptime_seconds", "uptime_seconds is required"),
        ({"mode": "IDLE", "uptime_seconds": -1}, "uptime_seconds", BAD_UPTIME),
        ({"mode": "IDLE", "uptime_seconds": "330"}, "uptime_seconds", BAD_UPTIME),
        ({"mode": "IDLE", "uptime_seconds": True}, "uptime_seconds", BAD_UPTIME),
        ({"mode": "IDLE", "uptime_seconds": NAN}, "uptime_seconds", BAD_UPTIME),
        ({"mode": "IDLE", "uptime_seconds": INF}, "uptime_seconds", BAD_UPTIME),
    ],
)  # fmt: skip
def test_heartbeat_names_the_bad_field(body: dict[str, Any], field: str, message: str) -> None:
    error = refused(heartbeat_body, body)
    assert error.body.message == message
    assert error.body.details == {"field": field}


def test_metrics_doc_example_and_defaults() -> None:
    assert metrics_body(DOC_METRICS) == DOC_METRICS
    minimal = {"cpu_percent": 0, "memory_mb": 0, "requests_handled": 0}
    assert metrics_body(minimal) == {**minimal, "custom_metrics": {}}
    assert metrics_body({**minimal, "custom_metrics": None})["custom_metrics"] == {}
    assert metrics_body({**minimal, "cpu_percent": 100})["cpu_percent"] == 100
    assert metrics_body({**minimal, "requests_handled": 45.0})["requests_handled"] == 45


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"cpu_percent": 101}, "cpu_percent", "cpu_percent must be a number between 0 and 100"),
        ({"cpu_percent": -1}, "cpu_percent", "cpu_percent must be a number between 0 and 100"),
        ({"cpu_percent": "12"}, "cpu_percent", "cpu_percent must be a number between 0 and 100"),
        ({"cpu_percent": None}, "cpu_percent", "cpu_percent is required"),
        ({"memory_mb": -0.5}, "memory_mb", "memory_mb must be a number >= 0"),
        ({"memory_mb": None}, "memory_mb", "memory_mb is required"),
        ({"requests_handled": 4.5}, "requests_handled", BAD_COUNT),
        ({"requests_handled": -1}, "requests_handled", BAD_COUNT),
        ({"requests_handled": False}, "requests_handled", BAD_COUNT),
        ({"requests_handled": None}, "requests_handled", "requests_handled is required"),
        ({"custom_metrics": [1]}, "custom_metrics", "custom_metrics must be an object"),
        ({"custom_metrics": "x"}, "custom_metrics", "custom_metrics must be an object"),
        ({"custom_metrics": {"x": float("nan")}}, "custom_metrics", NOT_FINITE),
        ({"custom_metrics": {"x": "y" * 20000}}, "custom_metrics", TOO_BIG),
    ],
)  # fmt: skip
def test_metrics_names_the_bad_field(change: dict[str, Any], field: str, message: str) -> None:
    error = refused(metrics_body, {**DOC_METRICS, **change})
    assert error.body.message == message
    assert error.body.details == {"field": field}


def test_metrics_refuse_fields_outside_the_document() -> None:
    error = refused(metrics_body, {**DOC_METRICS, "mode": "IDLE"})
    assert error.body.message.startswith("Field not allowed: mode.")
    assert error.body.details["field"] == "mode"
