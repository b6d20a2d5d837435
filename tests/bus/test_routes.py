"""A handler table on a real NATS server: each route's use case runs its kind's way (the
service's dispatch for commands and queries, awaited for raw), and replies keep their forms."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel

from agentplane.bus.connection import connect
from agentplane.bus.host import ServiceHost
from agentplane.bus.requests import BusClient
from agentplane.bus.routes import (
    EVERY_REPLICA,
    InThreads,
    Route,
    command,
    encoded,
    query,
    raw,
    serve_routes,
)
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


async def from_bytes(request: bytes) -> Said:
    # A hot path's own check: a known prefix skips the model, anything else is validated.
    if request.startswith(b'{"text":"fast'):
        return Said(said=f"unvalidated {len(request)} bytes")
    return Said(said=f"validated {Ask.model_validate_json(request).text}")


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
            encoded("test.encoded", Ask, from_bytes),
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


async def test_an_encoded_route_gets_the_bytes_and_its_validation_errors_are_replies(
    table_service: RecordingDispatch, nats_server: NatsServer
) -> None:
    nc = await connect(nats_server.url, "t")
    bus = BusClient(nc, timeout=2)
    fast = b'{"text":"fast one"}'
    reply = await nc.request("test.encoded", fast, timeout=2)
    assert reply.data == b'{"ok":true,"data":{"said":"unvalidated 19 bytes"},"error":null}'
    assert await bus.request("test.encoded", Ask(text="slow")) == {"said": "validated slow"}
    reply = await nc.request("test.encoded", b'{"nope": 1}', timeout=2)
    assert b'"validation"' in reply.data and b'"text"' in reply.data
    # Encoded routes bypass the dispatch too.
    assert table_service.ran == []
    await nc.close()


async def test_every_replica_answers_a_route_outside_the_queue_group(
    nats_server: NatsServer,
) -> None:
    hosts = []
    for name in ("one", "two"):
        host = ServiceHost("replicas", nats_server.url)

        async def whoami(_: Ask, name: str = name) -> Said:
            return Said(said=name)

        serve_routes(host, [raw("test.whoami", Ask, whoami, queue=EVERY_REPLICA)])
        await host.start()
        hosts.append(host)
    nc = await connect(nats_server.url, "t")
    try:
        inbox = nc.new_inbox()
        answers = []
        both = asyncio.Event()

        async def collect(msg: Any) -> None:
            answers.append(msg.data)
            if len(answers) == 2:
                both.set()

        await nc.subscribe(inbox, cb=collect)
        await nc.publish("test.whoami", b'{"text":"?"}', reply=inbox)
        await asyncio.wait_for(both.wait(), 5)
        assert sorted(answers) == [
            b'{"ok":true,"data":{"said":"one"},"error":null}',
            b'{"ok":true,"data":{"said":"two"},"error":null}',
        ]
    finally:
        await nc.close()
        for host in hosts:
            await host.stop()


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
