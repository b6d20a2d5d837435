"""A bug is a 500 with a request id logged with its traceback, never a 503 "try again"."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from agentplane.bus.handlers import replying
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.reply import Reply
from agentplane.gateway.errors import install_error_handlers


class Ping(BaseModel):
    n: int


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/bug")
    async def bug() -> dict[str, str]:
        raise KeyError("a programming error")

    @app.get("/down")
    async def down() -> dict[str, str]:
        raise ServiceError(ErrorKind.UNAVAILABLE, "registry service is unavailable")

    @app.get("/service-bug")
    async def service_bug() -> dict[str, str]:
        raise ServiceError(ErrorKind.INTERNAL, "Internal error (request id abc)", requestId="abc")

    return app


def test_an_unexpected_exception_is_a_500_with_a_logged_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="agentplane.gateway"):
        response = client.get("/bug")
    assert response.status_code == 500
    body = response.json()
    request_id = body["details"]["requestId"]
    assert body["kind"] == "internal" and request_id in body["error"]
    assert response.headers["X-Request-ID"] == request_id
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is in the log
    assert "GET /bug" in logged[0].getMessage()


def test_only_real_unavailability_is_503_and_a_service_bug_is_500() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    assert client.get("/down").status_code == 503
    response = client.get("/service-bug")
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "abc"


async def test_a_failing_handler_replies_internal_with_its_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @replying(Ping)
    async def handler(request: Ping) -> BaseModel:
        raise ZeroDivisionError(request.n)

    with caplog.at_level(logging.ERROR):
        raw = await handler(b'{"n": 1}')
    reply = Reply.model_validate_json(raw)
    assert not reply.ok and reply.error is not None
    assert reply.error.kind is ErrorKind.INTERNAL
    request_id = reply.error.details["requestId"]
    assert any(request_id in r.getMessage() and r.exc_info for r in caplog.records)
