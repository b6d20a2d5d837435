"""Device agents (seed 003): key authentication and the dialect's `{success, error}` answers."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from agentplane.contracts.device import MAX_CLOCK_SKEW_SECONDS, AuthenticateDevice, DeviceIdentity
from agentplane.contracts.errors import ErrorKind, ServiceError, unauthorized
from agentplane.contracts.http.timestamps import parse_rfc3339
from agentplane.contracts.subjects import Registry
from agentplane.gateway.auth import app_bus
from agentplane.gateway.errors import REQUEST_ID_HEADER, STATUS
from agentplane.gateway.openapi import declares
from agentplane.gateway.rate_limits import enforce_agent_limit

MAX_KEY_LENGTH = 512


def device_error(status: int, message: str) -> JSONResponse:
    """The device dialect's error body."""
    return JSONResponse({"success": False, "error": message}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        parts.append(f"{'.'.join(loc) or 'body'}: {err.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts)


class DeviceRoute(APIRoute):
    """Routes of `/api/agent/…`: every error answers `{"success": false, "error": …}`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def device_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except ServiceError as exc:
                response = device_error(STATUS[exc.kind], exc.body.message)
                request_id = (exc.body.details or {}).get("requestId")
                if exc.kind is ErrorKind.INTERNAL and isinstance(request_id, str):
                    response.headers[REQUEST_ID_HEADER] = request_id
                return response
            except RequestValidationError as exc:
                return device_error(STATUS[ErrorKind.VALIDATION], _validation_message(exc))

        return device_handler


def _required(value: str | None, header: str) -> str:
    if not value:
        raise unauthorized(f"Missing {header} header")
    return value


@declares(
    {
        401: "Missing or invalid X-Agent-Key, X-Agent-ID or X-Request-Timestamp",
        429: "The agent's own limit is spent; X-RateLimit-Reset and Retry-After say when",
    },
    headers=("x-agent-key", "x-agent-id", "x-request-timestamp"),
)
async def authenticate_device(request: Request) -> DeviceIdentity:
    """The agent behind X-Agent-ID + X-Agent-Key, if X-Request-Timestamp is fresh.

    Every failure is 401. Keys are never cached here, so a rotation takes effect on the very
    next request.
    """
    headers = request.headers
    api_key = _required(headers.get("x-agent-key"), "X-Agent-Key")
    raw_id = _required(headers.get("x-agent-id"), "X-Agent-ID")
    raw_ts = _required(headers.get("x-request-timestamp"), "X-Request-Timestamp")
    sent_at = parse_rfc3339(raw_ts)
    if sent_at is None:
        raise unauthorized("X-Request-Timestamp must be an RFC 3339 UTC timestamp")
    skew = abs((datetime.now(UTC) - sent_at).total_seconds())
    if skew > MAX_CLOCK_SKEW_SECONDS:
        raise unauthorized(
            f"X-Request-Timestamp is more than {MAX_CLOCK_SKEW_SECONDS} seconds away from "
            "server time"
        )
    try:
        agent_id = UUID(raw_id)
    except ValueError:
        raise unauthorized("Invalid agent credentials") from None
    if len(api_key) > MAX_KEY_LENGTH:
        raise unauthorized("Invalid agent credentials")
    data = await app_bus(request).request(
        Registry.DEVICE_AUTHENTICATE, AuthenticateDevice(agent_id=agent_id, api_key=api_key)
    )
    device = DeviceIdentity.model_validate(data)
    enforce_agent_limit(request, device.agent_id)
    return device


Device = Annotated[DeviceIdentity, Depends(authenticate_device)]
