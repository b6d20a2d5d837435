"""Typed errors of the SDK: every non-2xx answer of every dialect becomes an `ApiError`.

Error bodies differ per dialect and are all read here:
- gateway (seeds 000, 001, 002, 004, operator): `{"error": msg, "kind": k, "details"?: {...}}`;
- device (seed 003): `{"success": false, "error": msg}`;
- FastAPI's default `{"detail": …}`, `GET /health`'s `{"status": "unavailable", …}`, and
  bodies that are not JSON at all (a proxy's 502 page).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from agentplane.sdk.retry import retry_after_seconds

# The request id of a failed request, when the gateway (or a proxy) names one.
REQUEST_ID_HEADERS = ("x-request-id", "x-correlation-id", "request-id")
_KIND_BY_STATUS = {
    400: "validation",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "payload_too_large",
    422: "validation",
    429: "rate_limited",
    500: "internal",
    502: "unavailable",
    503: "unavailable",
    504: "unavailable",
}


class AgentplaneError(Exception):
    """Anything the SDK raises on purpose."""


class ConnectionFailed(AgentplaneError):
    """The gateway could not be reached (after the retries the call was allowed)."""


class ApiError(AgentplaneError):
    """The gateway answered with an error status."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {kind}: {message}" + (f" [{request_id}]" if request_id else ""))
        self.status = status
        self.kind = kind
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.request_id = request_id
        self.headers: dict[str, str] = dict(headers or {})


class BadRequest(ApiError):
    """400 (and 422): the request was invalid; `details` names the fields when known."""


class Unauthorized(ApiError):
    """401: missing, invalid or expired credentials."""


class Forbidden(ApiError):
    """403: authenticated, but not allowed to do this."""


class NotFound(ApiError):
    """404: no such resource (or not in this workspace)."""


class Conflict(ApiError):
    """409: the request conflicts with the current state (duplicate name, terminated…)."""


class PayloadTooLarge(ApiError):
    """413: the body is larger than the gateway accepts."""


class RateLimited(ApiError):
    """429: over the workspace's rate limit; `retry_after` says when to try again."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers)


class ServerError(ApiError):
    """500 and other 5xx: a bug or failure on the server side."""


class Unavailable(ServerError):
    """502, 503, 504: temporarily unavailable; safe calls were already retried."""


_CLASS_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: BadRequest,
    429: RateLimited,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


def _decode(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content) if response.content else None
    except ValueError:
        return None


def _parts(status: int, body: Any, text: str) -> tuple[str | None, str, dict[str, Any]]:
    """(kind, message, details) from any of the dialects' error bodies."""
    if not isinstance(body, dict):
        message = text.strip()[:500] or httpx.codes.get_reason_phrase(status) or "error"
        return None, message, {}
    details = body.get("details")
    details = dict(details) if isinstance(details, dict) else {}
    kind = body.get("kind") if isinstance(body.get("kind"), str) else None
    error = body.get("error")
    if isinstance(error, dict):
        kind = kind or error.get("kind") or error.get("code")
        message = str(error.get("message") or error)
    elif isinstance(error, str):
        message = error
    elif isinstance(body.get("message"), str):
        message = body["message"]
    elif "detail" in body:
        detail = body["detail"]
        message = detail if isinstance(detail, str) else "Invalid request"
        if not isinstance(detail, str):
            details.setdefault("errors", detail)
    else:
        message = str(body.get("status") or httpx.codes.get_reason_phrase(status) or "error")
        details = details or {k: v for k, v in body.items() if k != "status"}
    return kind, message, details


def _request_id(response: httpx.Response, body: Any) -> str | None:
    for name in REQUEST_ID_HEADERS:
        if response.headers.get(name):
            return response.headers[name]
    if isinstance(body, dict):
        for key in ("requestId", "request_id"):
            if isinstance(body.get(key), str):
                return body[key]
    return None


def error_from_response(response: httpx.Response) -> ApiError:
    """The typed error of a non-2xx answer."""
    status = response.status_code
    body = _decode(response)
    kind, message, details = _parts(status, body, response.text)
    cls = _CLASS_BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(
        status=status,
        kind=kind or _KIND_BY_STATUS.get(status, "error"),
        message=message,
        details=details,
        request_id=_request_id(response, body),
        headers=dict(response.headers),
    )
