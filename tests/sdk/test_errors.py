"""Every dialect's error body becomes the right typed error with status, kind, message, details."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agentplane.sdk import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
)
from agentplane.sdk.errors import error_from_response


def answer(status: int, body: Any = None, text: str | None = None, **headers: str) -> ApiError:
    response = (
        httpx.Response(status, text=text, headers=headers)
        if text is not None
        else httpx.Response(status, json=body, headers=headers)
    )
    return error_from_response(response)


@pytest.mark.parametrize(
    ("status", "cls", "kind"),
    [
        (400, BadRequest, "validation"),
        (401, Unauthorized, "unauthorized"),
        (403, Forbidden, "forbidden"),
        (404, NotFound, "not_found"),
        (409, Conflict, "conflict"),
        (413, PayloadTooLarge, "payload_too_large"),
        (422, BadRequest, "validation"),
        (429, RateLimited, "rate_limited"),
        (500, ServerError, "internal"),
        (502, Unavailable, "unavailable"),
        (503, Unavailable, "unavailable"),
        (504, Unavailable, "unavailable"),
        (418, ApiError, "error"),
        (507, ServerError, "error"),
    ],
)
def test_status_picks_the_class_and_default_kind(status: int, cls: type, kind: str) -> None:
    error = answer(status, {"success": False, "error": "nope"})
    assert type(error) is cls and error.status == status
    assert (error.kind, error.message, error.details) == (kind, "nope", {})


def test_gateway_body_with_kind_and_details() -> None:
    fields = [{"field": "clientType", "message": "Field required"}]
    error = answer(
        400,
        {
            "error": "Invalid request: clientType: Field required",
            "kind": "validation",
            "details": {"fields": fields},
        },
    )
    assert isinstance(error, BadRequest)
    assert error.details == {"fields": fields} and error.message.startswith("Invalid request")
    assert "400 validation: Invalid request" in str(error)


def test_request_id_from_header_or_body() -> None:
    error = answer(
        500, {"error": "Internal error", "kind": "internal"}, **{"X-Request-ID": "req-1"}
    )
    assert error.request_id == "req-1" and "[req-1]" in str(error)
    assert answer(500, {"error": "x", "requestId": "req-2"}).request_id == "req-2"
    assert answer(500, {"error": "x"}).request_id is None


def test_fastapi_default_and_nested_error_bodies() -> None:
    listed = answer(422, {"detail": [{"loc": ["body", "x"], "msg": "bad"}]})
    assert listed.message == "Invalid request" and listed.details["errors"][0]["msg"] == "bad"
    assert answer(404, {"detail": "Not Found"}).message == "Not Found"
    nested = answer(409, {"error": {"code": "name_taken", "message": "Name taken"}})
    assert (nested.kind, nested.message) == ("name_taken", "Name taken")
    assert answer(400, {"message": "Name is required"}).message == "Name is required"


def test_health_and_non_json_bodies() -> None:
    health = answer(503, {"status": "unavailable", "nats": "ok", "missing": ["registry"]})
    assert isinstance(health, Unavailable) and health.message == "unavailable"
    assert health.details == {"nats": "ok", "missing": ["registry"]}
    page = answer(502, text="<html>Bad Gateway</html>")
    assert isinstance(page, Unavailable) and page.message == "<html>Bad Gateway</html>"
    assert answer(503, text="").message == "Service Unavailable"


def test_rate_limited_reads_retry_after_and_reset() -> None:
    assert answer(429, {"error": "Too Many Requests"}, **{"Retry-After": "7"}).retry_after == 7
    date = answer(429, {}, **{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert date.retry_after == 0  # a date in the past: no wait
    assert answer(429, {}).retry_after is None
