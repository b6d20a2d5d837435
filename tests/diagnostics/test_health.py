"""Service status from checks and agent presence: the first check decides, thresholds keep an
established status from flapping, an offline agent makes its services inactive, and every
change of the shown status is recorded once as an event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.events.registry_workspace import ServiceDeleted
from agentplane.contracts.service_health import ServiceStatus
from agentplane.contracts.services import ServiceProtocol, ServiceRecord
from agentplane.diagnostics.application import Diagnostics
from agentplane.diagnostics.domain.health import Health, Thresholds, after_check
from agentplane.diagnostics.store import DiagnosticsStore
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.probes.connectivity import FAILED, OK, ProbeResult

T0 = datetime(2026, 12, 5, tzinfo=UTC)
THRESHOLDS = Thresholds(failures=3, successes=2)


def step(health: Health, failure: str | None, n: int = 0) -> Health:
    return after_check(health, failure=failure, at=T0 + timedelta(seconds=n),
                       cert_expires_at=None, thresholds=THRESHOLDS)  # fmt: skip


def test_first_check_decides_then_thresholds_hold() -> None:
    assert Health().status == ServiceStatus.UNKNOWN
    assert step(Health(), "TCP_FAILED").status == ServiceStatus.ERROR
    active = step(Health(), None)
    assert active.status == ServiceStatus.ACTIVE and active.last_check_status == "OK"
    two_fails = step(step(active, "TCP_FAILED"), "TCP_FAILED")
    assert two_fails.status == ServiceStatus.ACTIVE  # below the threshold: no flap
    error = step(two_fails, "HTTP_FAILED")
    assert error.status == ServiceStatus.ERROR and error.last_check_status == "HTTP_FAILED"
    once = step(error, None)
    assert once.status == ServiceStatus.ERROR
    assert step(once, None).status == ServiceStatus.ACTIVE


def test_offline_agent_shows_inactive_and_cert_expiry_survives_a_failure() -> None:
    expiry = T0 + timedelta(days=30)
    seen = after_check(Health(agent_online=True), failure=None, at=T0, cert_expires_at=expiry,
                       thresholds=THRESHOLDS)  # fmt: skip
    failed = step(seen, "TLS_FAILED")
    assert failed.cert_expires_at == expiry
    from dataclasses import replace

    assert replace(seen, agent_online=False).status == ServiceStatus.INACTIVE
    assert replace(seen, agent_online=None).status == ServiceStatus.ACTIVE


def service(agent_id: str | None) -> ServiceRecord:
    return ServiceRecord(
        id=f"svc_{uuid4().hex}", workspace_id="ws_1", agent_id=agent_id, name="db",
        target_host="127.0.0.1", target_port=5432, tunnel_port=50001 if agent_id else None,
        protocol=ServiceProtocol.TCP, is_public=False, is_external=agent_id is None,
        public_subdomain=None, created_at=T0,
    )  # fmt: skip


def event(type_: str, seq: int, data: dict, agent_id: str | None = None) -> IntegrationEvent:
    return IntegrationEvent(
        id=f"x:{seq}", app="x", position=seq, type=type_, aggregate_id="a", aggregate_version=1,
        occurred_at=T0, workspace_id="ws_1", agent_id=agent_id, data=data,
    )  # fmt: skip


def status_events(store: DiagnosticsStore) -> list[tuple[str, str, str]]:
    return [
        (type(e).TOPIC, getattr(e, "from_status", ""), getattr(e, "status", ""))
        for e in store.notification_log.select(1, 10)
        for e in [store.mapper.to_domain_event(e)]
    ]


def test_checks_agents_and_status_events(tmp_path: Path) -> None:
    store = DiagnosticsStore(allow_memory=True)
    app = Diagnostics(store, SQLiteViewStore(tmp_path / "v.sqlite"), THRESHOLDS)
    agent = str(uuid4())
    svc = service(agent)
    registered = {
        "service_id": svc.id, "workspace_id": "ws_1", "agent_id": agent, "name": "db",
        "target_host": "127.0.0.1", "target_port": 5432, "protocol": "tcp",
        "tunnel_port": 50001, "is_public": False, "is_external": False,
        "public_subdomain": None,
    }  # fmt: skip
    touched = app.apply_events([(event("service.Registered", 1, registered, agent), 1)])
    assert touched == [svc.id]
    assert app.health([svc.id])[svc.id].status == ServiceStatus.INACTIVE  # agent never seen
    app.apply_events([(event("liveness.CameOnline", 2, {}, agent), 2)])
    assert app.health([svc.id])[svc.id].status == ServiceStatus.UNKNOWN
    ok = ProbeResult(tcp_status=OK, tcp_latency_ms=3, checked_at=T0)
    diagnostic, health = app.record_check(svc, ok)
    assert diagnostic.perspective == "hub" and health.status == ServiceStatus.ACTIVE
    assert health.last_check_at == T0 and health.last_check_status == "OK"
    app.record_check(svc, ok)  # no change: no event
    # A redelivered event changes nothing (tracked position).
    app.apply_events([(event("liveness.CameOnline", 2, {}, agent), 2)])
    app.apply_events([(event("liveness.WentOffline", 3, {}, agent), 3)])
    assert app.health([svc.id])[svc.id].status == ServiceStatus.INACTIVE
    for n in range(3):
        later = T0 + timedelta(seconds=n + 1)  # newest first needs distinct times
        app.record_check(svc, ProbeResult(tcp_status=FAILED, tcp_error="refused", checked_at=later))
    app.apply_events([(event("liveness.CameOnline", 4, {}, agent), 4)])
    assert app.health([svc.id])[svc.id].status == ServiceStatus.ERROR
    assert status_events(store) == [
        ("service_status.Tracked", "", ""),
        ("service_status.Changed", "unknown", "active"),
        ("service_status.Changed", "active", "inactive"),
        ("service_status.Changed", "inactive", "error"),
    ]
    history = app.history("diag", svc.id, 50)
    assert len(history) == 5 and history[0]["tcp_status"] == FAILED  # newest first
    deleted = ServiceDeleted(
        service_id=svc.id, workspace_id="ws_1", agent_id=agent, tunnel_port=None
    )
    app.apply_events([(event(deleted.TYPE, 5, deleted.model_dump(mode="json"), agent), 5)])
    assert app.services_to_check() == []


def test_history_keeps_its_retention(tmp_path: Path, monkeypatch: object) -> None:
    import agentplane.diagnostics.application as application

    monkeypatch.setattr(application, "HISTORY_RETENTION", 10)  # type: ignore[attr-defined]
    monkeypatch.setattr(application, "_PRUNE_SLACK", 3)  # type: ignore[attr-defined]
    app = Diagnostics(DiagnosticsStore(allow_memory=True), SQLiteViewStore(tmp_path / "v.sqlite"),
                      THRESHOLDS)  # fmt: skip
    svc = service(None)
    for n in range(40):
        app.record_check(svc, ProbeResult(tcp_status=OK, checked_at=T0 + timedelta(seconds=n)))
    kept = app.history("diag", svc.id, 100)
    assert 10 <= len(kept) <= 13
    assert kept[0]["timestamp"].startswith("2026-12-05T00:00:39")
