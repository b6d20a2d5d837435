"""Diagnostics use cases: record check results and reach sessions, keep each service's health,
record status changes as events. Synchronous (SQLite, eventsourcing): handlers call these in
threads."""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from agentplane.contracts.diagnostics import (
    HISTORY_RETENTION,
    Diagnostic,
    Perspective,
    ReachSession,
)
from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.service_health import ServiceHealth, ServiceStatus
from agentplane.contracts.services import ServiceRecord
from agentplane.diagnostics import projections
from agentplane.diagnostics.domain.health import Health, Thresholds, after_check, with_agent
from agentplane.diagnostics.domain.status_record import ServiceStatusRecord, status_record_id
from agentplane.diagnostics.store import DiagnosticsStore
from agentplane.eventstore.paging import sort_key
from agentplane.eventstore.views import ViewStore, ViewTx
from agentplane.probes.connectivity import ProbeResult

log = logging.getLogger("agentplane.diagnostics")

HEALTH = "health"
DIAGNOSTIC = "diag"
SESSION = "sess"
# Rows dropped at once when a service's history grows past its retention.
_PRUNE_SLACK = 50
_RETRIES = 5


def _health_doc(health: Health) -> dict[str, Any]:
    doc = dataclasses.asdict(health)
    for key in ("last_check_at", "cert_expires_at"):
        if doc[key] is not None:
            doc[key] = doc[key].isoformat()
    doc["checked"] = health.checked.value
    return doc


def _health_of(doc: dict[str, Any] | None) -> Health:
    if doc is None:
        return Health()
    return Health(
        checked=ServiceStatus(doc["checked"]),
        ok_streak=doc["ok_streak"],
        fail_streak=doc["fail_streak"],
        last_check_at=datetime.fromisoformat(doc["last_check_at"])
        if doc["last_check_at"]
        else None,
        last_check_status=doc["last_check_status"],
        cert_expires_at=(
            datetime.fromisoformat(doc["cert_expires_at"]) if doc["cert_expires_at"] else None
        ),
        agent_online=doc["agent_online"],
    )


def public_health(service_id: str, health: Health) -> ServiceHealth:
    return ServiceHealth(
        service_id=service_id,
        status=health.status,
        last_check_at=health.last_check_at,
        last_check_status=health.last_check_status,
    )


def diagnostic_of(
    service_id: str,
    result: ProbeResult,
    perspective: Perspective,
    source_agent_id: str | None = None,
    source_agent: str | None = None,
) -> Diagnostic:
    return Diagnostic(
        id=f"diag_{secrets.token_hex(12)}",
        service_id=service_id,
        perspective=perspective,
        source_agent=source_agent,
        source_agent_id=source_agent_id,  # type: ignore[arg-type]
        tcp_status=result.tcp_status,
        tcp_latency_ms=result.tcp_latency_ms,
        tcp_error=result.tcp_error,
        tls_status=result.tls_status,
        tls_error=result.tls_error,
        cert_expires_at=result.cert_expires_at,
        http_status=result.http_status,
        http_status_code=result.http_status_code,
        http_latency_ms=result.http_latency_ms,
        http_error=result.http_error,
        timestamp=result.checked_at,
    )


class Diagnostics:
    """Check results, reach sessions and service health of every workspace."""

    def __init__(
        self,
        store: DiagnosticsStore,
        views: ViewStore,
        thresholds: Thresholds,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.views = views
        self.thresholds = thresholds
        self.clock = clock

    # -- the event stream ----------------------------------------------------------------

    def apply_events(self, items: list[tuple[IntegrationEvent, int]]) -> list[str]:
        """Catalog and liveness events in stream order (idempotent: positions at or below the
        tracked one are skipped). Answers the services whose status may have changed."""
        touched: list[tuple[str, str]] = []  # (workspace_id, service_id) whose agent changed
        new: list[str] = []
        with self.views.transaction() as tx:
            seen = tx.position(projections.TRACKING)
            for event, sequence in items:
                if sequence <= seen:
                    continue
                what, ids = projections.apply_event(tx, event)
                if what == "agent":
                    online = event.type == projections.CAME_ONLINE
                    for service_id in ids:
                        health = with_agent(_health_of(tx.get(HEALTH, service_id)), online)
                        tx.put(HEALTH, service_id, _health_doc(health))
                        touched.append((event.workspace_id or "", service_id))
                elif what == "service":
                    doc = tx.get(projections.SERVICE, ids[0]) or {}
                    online = projections.agent_online(tx, doc.get("agent_id"))
                    health = dataclasses.replace(
                        _health_of(tx.get(HEALTH, ids[0])), agent_online=online
                    )
                    tx.put(HEALTH, ids[0], _health_doc(health))
                    new.append(ids[0])
                elif what == "deleted":
                    tx.delete(HEALTH, ids[0])
                tx.set_position(projections.TRACKING, sequence)
        for workspace_id, service_id in touched:
            self._record_status(workspace_id, service_id)
        return new + [s for _, s in touched]

    # -- checks ----------------------------------------------------------------------------

    def record_check(
        self, service: ServiceRecord, result: ProbeResult
    ) -> tuple[Diagnostic, ServiceHealth]:
        """A hub check's result: history, health (thresholds) and a status event if it moved."""
        diagnostic = diagnostic_of(service.id, result, Perspective.HUB)
        with self.views.transaction() as tx:
            health = after_check(
                _health_of(tx.get(HEALTH, service.id)),
                failure=result.failure,
                at=result.checked_at,
                cert_expires_at=result.cert_expires_at,
                thresholds=self.thresholds,
            )
            if service.agent_id is None:
                health = dataclasses.replace(health, agent_online=None)
            tx.put(HEALTH, service.id, _health_doc(health))
            self._add(tx, DIAGNOSTIC, service.id, diagnostic.id, diagnostic.model_dump(mode="json"),
                      diagnostic.timestamp)  # fmt: skip
        self._record_status(service.workspace_id, service.id)
        return diagnostic, public_health(service.id, health)

    def record_reach(
        self,
        service: ServiceRecord,
        diagnostic: Diagnostic | None,
        session: ReachSession,
    ) -> None:
        """A reach check's result and session (history only: the hub's checks make status)."""
        with self.views.transaction() as tx:
            if diagnostic is not None:
                self._add(tx, DIAGNOSTIC, service.id, diagnostic.id,
                          diagnostic.model_dump(mode="json"), diagnostic.timestamp)  # fmt: skip
            self._add(tx, SESSION, service.id, session.id, session.model_dump(mode="json"),
                      session.started_at)  # fmt: skip

    def _add(self, tx: ViewTx, kind: str, scope: str, key: str, doc: dict[str, Any],
             at: datetime) -> None:  # fmt: skip
        tx.put(kind, key, doc, scope=scope, sort=sort_key(at))
        counter = f"{kind}-count:{scope}"
        count = tx.position(counter) + 1
        if count > HISTORY_RETENTION + _PRUNE_SLACK:
            rows = tx.page(kind, scope, HISTORY_RETENTION + _PRUNE_SLACK + 10, descending=True)
            for _, old_key, _ in rows[HISTORY_RETENTION:]:
                tx.delete(kind, old_key)
            count = min(len(rows), HISTORY_RETENTION)
        tx.set_position(counter, count)

    # -- reads -----------------------------------------------------------------------------

    def health(self, service_ids: list[str]) -> dict[str, ServiceHealth]:
        with self.views.read() as tx:
            return {sid: public_health(sid, _health_of(tx.get(HEALTH, sid))) for sid in service_ids}

    def history(self, kind: str, service_id: str, limit: int) -> list[dict[str, Any]]:
        with self.views.read() as tx:
            rows = tx.page(kind, service_id, limit, descending=True)
        return [json.loads(text) for _, _, text in rows]

    def services_to_check(self) -> list[ServiceRecord]:
        with self.views.read() as tx:
            return projections.services(tx)

    def forget(self, service_id: str) -> None:
        """A deleted service: its health goes; history goes with its retention counter."""
        with self.views.transaction() as tx:
            tx.delete(HEALTH, service_id)
            for kind in (DIAGNOSTIC, SESSION):
                for _, key, _ in tx.page(kind, service_id, HISTORY_RETENTION * 2):
                    tx.delete(kind, key)
                tx.set_position(f"{kind}-count:{service_id}", 0)

    # -- status events ---------------------------------------------------------------------

    def _record_status(self, workspace_id: str, service_id: str) -> None:
        """Record the shown status as an event when it differs from the last recorded one.

        Idempotent: the aggregate refuses a repeat, so a retried check or a redelivered event
        records nothing twice; replicas racing on one service conflict in the store and retry.
        """
        with self.views.read() as tx:
            health = _health_of(tx.get(HEALTH, service_id))
        status = health.status
        reason = (
            "agent offline" if status == ServiceStatus.INACTIVE
            else (health.last_check_status or "not checked")
        )  # fmt: skip
        for _ in range(_RETRIES):
            try:
                record = self.store.repository.get(status_record_id(service_id))
            except AggregateNotFoundError:
                if status == ServiceStatus.UNKNOWN:
                    return
                record = ServiceStatusRecord.track(workspace_id, service_id)
            if not record.change(status.value, reason):
                return
            try:
                self.store.save(record)
            except IntegrityError:
                continue
            log.info("service %s is %s (%s)", service_id, status.value, reason)
            return
