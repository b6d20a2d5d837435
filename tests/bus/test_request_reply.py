"""Typed request/reply on a real NATS server: every failure is an answer, never a hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel

from agentplane.bus.connection import connect
from agentplane.bus.handlers import replying
from agentplane.bus.host import ServiceHost
from agentplane.bus.readiness import wait_until_answering
from agentplane.bus.requests import BusClient
from agentplane.contracts import subjects
from agentplane.contracts.errors import ErrorKind, ServiceError, not_found
from agentplane.testing.nats import NatsServer


class Echo(BaseModel):
    text: str
    fail: str = ""


@pytest.fixture
async def echo_service(nats_server: NatsServer) -> AsyncIterator[ServiceHost]:
    host = ServiceHost("echo", nats_server.url)

    @replying(Echo)
    async def echo(request: Echo) -> BaseModel:
        if request.fail == "not_found":
            raise not_found("no such thing", thing=request.text)
        if request.fail == "crash":
            raise RuntimeError("boom")
        return request

    host.handle("test.echo", echo)
    await host.start()
    yield host
    await host.stop()


async def test_ok_reply_returns_data(echo_service: ServiceHost, nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url, "t")
    bus = BusClient(nc, timeout=2)
    assert await bus.request("test.echo", Echo(text="hi")) == {"text": "hi", "fail": ""}
    await nc.close()


async def test_errors_are_typed_replies(echo_service: ServiceHost, nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url, "t")
    bus = BusClient(nc, timeout=2)
    with pytest.raises(ServiceError) as err:
        await bus.request("test.echo", Echo(text="x", fail="not_found"))
    assert err.value.kind is ErrorKind.NOT_FOUND
    assert err.value.body.details == {"thing": "x"}

    with pytest.raises(ServiceError) as err:
        await bus.request("test.echo", Echo(text="x", fail="crash"))
    # A crash is a bug (500 at the gateway), with the id its traceback was logged under; it
    # answered (no answer within the budget would be UNAVAILABLE), so nobody waits it out.
    assert err.value.kind is ErrorKind.INTERNAL
    assert err.value.body.details["requestId"] in err.value.body.message

    reply = await nc.request("test.echo", b'{"nope": 1}', timeout=2)
    assert b'"validation"' in reply.data and b'"text"' in reply.data
    await nc.close()


async def test_nobody_listening_is_unavailable_within_the_budget(nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url, "t")
    bus = BusClient(nc, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ServiceError) as err:
        await bus.request("ap.nobody.home", Echo(text="x"))
    assert err.value.kind is ErrorKind.UNAVAILABLE
    assert "nobody" in err.value.body.message
    # Given up at the budget, not after some longer wait (a busy machine may add a little).
    assert time.monotonic() - started < bus.timeout + 2.0
    await nc.close()


async def test_a_service_starting_during_the_budget_is_reached(nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url, "t")
    bus = BusClient(nc, timeout=5)
    host = ServiceHost("late", nats_server.url)

    @replying(Echo)
    async def echo(request: Echo) -> BaseModel:
        return request

    host.handle("test.late", echo)

    async def start_later() -> None:
        await asyncio.sleep(0.3)
        await host.start()

    starter = asyncio.create_task(start_later())
    assert await bus.request("test.late", Echo(text="hi")) == {"text": "hi", "fail": ""}
    await starter
    await host.stop()
    await nc.close()


async def test_readiness_waits_for_the_ping_subject(
    echo_service: ServiceHost, nats_server: NatsServer
) -> None:
    nc = await connect(nats_server.url, "t")
    await wait_until_answering(nc, subjects.ping("echo"), timeout=2)
    with pytest.raises(TimeoutError):
        await wait_until_answering(nc, subjects.ping("absent"), timeout=0.3)
    await nc.close()
