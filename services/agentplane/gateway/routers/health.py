"""`GET /health`: 200 only when NATS and every service answer; `GET /health/{service}` for one
(a readiness probe per service, and the no-op baseline of the benchmarks)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from agentplane.contracts import subjects
from agentplane.contracts.errors import ErrorKind
from agentplane.gateway.errors import error_response

router = APIRouter(tags=["health"])


async def _ping(nc: Any, service: str) -> bool:
    try:
        await nc.request(subjects.ping(service), b"{}", timeout=1.0)
        return True
    except (NoRespondersError, NatsTimeout, Exception):
        return False


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    nc = request.app.state.nc
    if nc is None or not nc.is_connected:
        return JSONResponse(
            {"status": "unavailable", "nats": "down", "missing": ["nats", *subjects.SERVICES]},
            status_code=503,
        )
    answers = await asyncio.gather(*(_ping(nc, s) for s in subjects.SERVICES))
    services = {
        s: ("ok" if ok else "down") for s, ok in zip(subjects.SERVICES, answers, strict=True)
    }
    missing = [s for s, ok in zip(subjects.SERVICES, answers, strict=True) if not ok]
    body = {"status": "ok" if not missing else "unavailable", "nats": "ok", "services": services}
    if missing:
        body["missing"] = missing
    return JSONResponse(body, status_code=200 if not missing else 503)


@router.get(
    "/health/{service}",
    responses={
        404: {"description": "No such service"},
        503: {"description": "The service (or NATS) does not answer"},
    },
)
async def service_health(service: str, request: Request) -> JSONResponse:
    """200 when the named service answers its ping through NATS, else 503."""
    if service not in subjects.SERVICES:
        known = ", ".join(subjects.SERVICES)
        return error_response(404, f"No such service; one of {known}", ErrorKind.NOT_FOUND.value)
    nc = request.app.state.nc
    ok = nc is not None and nc.is_connected and await _ping(nc, service)
    return JSONResponse(
        {"service": service, "status": "ok" if ok else "unavailable"},
        status_code=200 if ok else 503,
    )
