"""A handler table on a real NATS server: each route's use case runs its kind's way (the
service's dispatch for commands and queries, awaited for raw), and replies keep their forms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel

from agentplane.bus.connection import connect
from agentplane.bus.host import ServiceHost
from agentplane.bus.requests import BusClient
from agentplane.bus.routes import InThreads, Route, command, query, raw, serve_routes
from agentplane.contracts.errors import ErrorKind, ServiceError, conflict
from agentplane.testing.nats import NatsServer


class Ask(BaseModel):
    text: str


class Said(BaseModel):
    said: str


class RecordingDispatch:
    """Runs use cases inline and notes which way each ran."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, str]] = []

    async def command(self, use_case: Any, request: Any) -> Any:
        self.ran.append(("command", request.text))
        return use_case(request)

    async def query(self, use_case: Any, request: Any) -> Any:
        self.ran.append(("query", request.text))
        return use_case(request)


def change(ask: Ask) -> Said:
    if ask.text == "taken":
        raise conflict("already there", field="text")
    return Said(said=f"changed {ask.text}")


def read_page(ask: Ask) -> bytes:
    # Spliced from stored JSON: sent as it is, not re-encoded.
    return b'{"said":"page of ' + ask.text.encode() + b'","extra":[1, 2]}'


async def answer_now(ask: Ask) -> Said:
    return Said(said=f"raw {ask.text}")


@pytest.fixture
async def table_service(nats_server: NatsServer) -> AsyncIterator[RecordingDispatch]:
    host = ServiceHost("table", nats_server.url)
    dispatch = RecordingDispatch()
    serve_routes(
        host,
        [
            command("test.change", Ask, change),
            query("test.page", Ask, read_page),
            raw("test.raw", Ask, answer_now),
        ],
        dispatch,
    )
    await host.start()
    yield dispatch
    await host.stop()


async def test_each_kind_runs_its_way_and_replies_keep_their_forms(
    table_service: RecordingDispatch, nats_server: NatsServer
) -> None:
    nc = await connect(nats_server.url, "t")
    bus = BusClient(nc, timeout=2)
    assert await bus.request("test.change", Ask(text="a")) == {"said": "changed a"}
    assert await bus.request("test.page", Ask(text="b")) == {"said": "page of b", "extra": [1, 2]}
    assert await bus.request("test.raw", Ask(text="c")) == {"said": "raw c"}
    # Raw routes bypass the dispatch; commands and queries go through their own method.
    assert table_service.ran == [("command", "a"), ("query", "b")]

    with pytest.raises(ServiceError) as err:
        await bus.request("test.change", Ask(text="taken"))
    assert err.value.kind is ErrorKind.CONFLICT and err.value.body.details == {"field": "text"}
    reply = await nc.request("test.change", b'{"nope": 1}', timeout=2)
    assert b'"validation"' in reply.data and b'"text"' in reply.data
    await nc.close()


async def test_in_threads_runs_synchronous_use_cases(nats_server: NatsServer) -> None:
    host = ServiceHost("threads", nats_server.url)
    serve_routes(host, [command("test.t.change", Ask, change)], InThreads())
    await host.start()
    nc = await connect(nats_server.url, "t")
    try:
        bus = BusClient(nc, timeout=2)
        assert await bus.request("test.t.change", Ask(text="x")) == {"said": "changed x"}
    finally:
        await nc.close()
        await host.stop()


def test_a_table_is_refused_when_it_cannot_be_served() -> None:
    host = ServiceHost("refused", "nats://127.0.0.1:1")
    twice: list[Route] = [query("test.twice", Ask, read_page), query("test.twice", Ask, read_page)]
    with pytest.raises(ValueError, match="twice"):
        serve_routes(host, twice, InThreads())
    with pytest.raises(ValueError, match="needs a dispatch"):
        serve_routes(host, [command("test.nodispatch", Ask, change)])
