"""Seed 001 diagnostics: hub checks, their history, and reach checks from an agent."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from agentplane.contracts.diagnostics import (
    HISTORY_DEFAULT,
    HISTORY_RETENTION,
    RESULT_SLACK_SECONDS_HINT,
    SESSIONS_DEFAULT,
    CheckAnswer,
    Diagnostic,
    DiagnosticList,
    HistoryQuery,
    ReachAnswer,
    ReachSession,
    RunCheck,
    RunReach,
    SessionList,
    SessionsQuery,
)
from agentplane.contracts.http.services import ReachBody
from agentplane.contracts.subjects import Diagnostics
from agentplane.gateway.auth import Bus, Workspace
from agentplane.gateway.formats import iso_ms

router = APIRouter(tags=["diagnostics (seed 001)"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request (the field is named)"},
    401: {"description": "Missing or invalid API key"},
    404: {"description": "Service not found in this workspace"},
    503: {"description": "A service is unavailable; try again"},
}
# A hub check takes at most the check timeout (5 s by default) plus the registry lookup.
CHECK_TIMEOUT_SECONDS = 30.0


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    return {
        "id": d.id,
        "serviceId": d.service_id,
        "tcpStatus": d.tcp_status,
        "tcpLatencyMs": d.tcp_latency_ms,
        "tcpError": d.tcp_error,
        "tlsStatus": d.tls_status,
        "tlsError": d.tls_error,
        "certExpiresAt": iso_ms(d.cert_expires_at),
        "httpStatus": d.http_status,
        "httpStatusCode": d.http_status_code,
        "httpLatencyMs": d.http_latency_ms,
        "httpError": d.http_error,
        "perspective": d.perspective.value,
        "sourceAgent": d.source_agent,
        "sourceAgentId": str(d.source_agent_id) if d.source_agent_id else None,
        "timestamp": iso_ms(d.timestamp),
    }


def session_json(s: ReachSession) -> dict[str, Any]:
    return {
        "id": s.id,
        "outcome": s.outcome.value,
        "serviceId": s.service_id,
        "sourceAgentId": str(s.source_agent_id),
        "sourceAgent": s.source_agent,
        "mode": s.mode.value,
        "diagnosticId": s.diagnostic_id,
        "error": s.error,
        "startedAt": iso_ms(s.started_at),
        "endedAt": iso_ms(s.ended_at),
    }


@router.post("/v1/services/{service_id}/check", responses=ERRORS)
async def check(service_id: str, ws: Workspace, bus: Bus) -> dict[str, Any]:
    """Check the service from the hub now: TCP, then TLS (https) and HTTP (http, https)."""
    answer = CheckAnswer.model_validate(
        await bus.request(
            Diagnostics.CHECK,
            RunCheck(workspace_id=ws.workspace_id, service_id=service_id),
            timeout=CHECK_TIMEOUT_SECONDS,
        )
    )
    return {
        "success": True,
        "diagnostic": diagnostic_json(answer.diagnostic),
        "service": {
            "id": service_id,
            "status": answer.health.status.value,
            "lastCheckAt": iso_ms(answer.health.last_check_at),
            "lastCheckStatus": answer.health.last_check_status,
        },
    }


@router.get("/v1/services/{service_id}/diagnostics", responses=ERRORS)
async def history(
    service_id: str,
    ws: Workspace,
    bus: Bus,
    limit: Annotated[int, Query(ge=1, le=HISTORY_RETENTION)] = HISTORY_DEFAULT,
) -> list[dict[str, Any]]:
    """Results of hub and reach checks, newest first (the last 500 per service are kept)."""
    found = DiagnosticList.model_validate(
        await bus.request(
            Diagnostics.HISTORY,
            HistoryQuery(workspace_id=ws.workspace_id, service_id=service_id, limit=limit),
        )
    )
    return [diagnostic_json(d) for d in found.diagnostics]


@router.post(
    "/v1/services/{service_id}/reach",
    responses={
        **ERRORS,
        404: {"description": "Service or source agent not found in this workspace"},
        409: {"description": "Agent offline or unreachable"},
    },
)
async def reach(service_id: str, body: ReachBody, ws: Workspace, bus: Bus) -> dict[str, Any]:
    """Ask `sourceAgentId` to check the service from its own network (a recorded session)."""
    answer = ReachAnswer.model_validate(
        await bus.request(
            Diagnostics.REACH,
            RunReach(
                workspace_id=ws.workspace_id,
                service_id=service_id,
                source_agent_id=body.source_agent_id,
                mode=body.mode.value,  # type: ignore[arg-type]
                timeout_ms=body.timeout_ms,
            ),
            timeout=body.timeout_ms / 1000 + RESULT_SLACK_SECONDS_HINT,
        )
    )
    return {
        "success": True,
        "diagnostic": diagnostic_json(answer.diagnostic) if answer.diagnostic else None,
        "session": session_json(answer.session),
    }


@router.get("/v1/services/{service_id}/sessions", responses=ERRORS)
async def sessions(
    service_id: str,
    ws: Workspace,
    bus: Bus,
    limit: Annotated[int, Query(ge=1, le=HISTORY_RETENTION)] = SESSIONS_DEFAULT,
) -> list[dict[str, Any]]:
    """Reach sessions of the service, newest first."""
    found = SessionList.model_validate(
        await bus.request(
            Diagnostics.SESSIONS,
            SessionsQuery(workspace_id=ws.workspace_id, service_id=service_id, limit=limit),
        )
    )
    return [session_json(s) for s in found.sessions]
