"""The whole system on PostgreSQL: concurrent message sends are recorded through the threaded
batch path (SQLite records them on the messaging loop; a PostgreSQL commit waits on the
network, so it keeps a thread: messaging/thread_batches.py), every one answered and listed once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from uuid import uuid4

import httpx
import pytest

from agentplane.testing.plugin import create_workspace
from agentplane.testing.postgres import PostgresServer
from agentplane.testing.system import RunningSystem

pytestmark = [pytest.mark.system, pytest.mark.postgres]

SENDS = 200


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[dict[str, str]]:
    """The settings of a fresh database for one system (what `make run` reads from AGENTPLANE_*)."""
    name = f"system_{uuid4().hex[:16]}"
    postgres_server.create_database(name)
    settings = postgres_server.settings_overrides() | {"postgres_db": name}
    try:
        yield {f"AGENTPLANE_{key.upper()}": str(value) for key, value in settings.items()}
    finally:
        postgres_server.drop_database(name)


def test_concurrent_sends_on_postgres_are_each_answered_and_listed_once(
    system_factory: Callable[..., RunningSystem], database: dict[str, str]
) -> None:
    system = system_factory(database)
    with httpx.Client(base_url=system.base_url, timeout=30) as http:
        key = {"x-api-key": create_workspace(http, system.admin_token)["apiKey"]}
        sender, recipient = (
            http.post("/v1/agents/provision", json={"clientType": "cursor"}, headers=key).json()[
                "agentId"
            ]
            for _ in range(2)
        )

    async def storm() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=system.base_url, timeout=60) as client:
            return await asyncio.gather(*(
                client.post(
                    f"/v1/agents/{sender}/messages/send",
                    json={"toAgentId": recipient, "payload": {"n": n}},
                    headers=key,
                )
                for n in range(SENDS)
            ))  # fmt: skip

    answers = asyncio.run(storm())
    assert [a.status_code for a in answers] == [200] * SENDS, {a.text for a in answers}
    ids = {a.json()["messageId"] for a in answers}
    assert len(ids) == SENDS
    with httpx.Client(base_url=system.base_url, timeout=30) as http:
        inbox = http.get(f"/v1/agents/{recipient}/messages?limit=500", headers=key).json()
    assert {m["id"] for m in inbox["messages"]} == ids
    assert sorted(m["payload"]["n"] for m in inbox["messages"]) == list(range(SENDS))
