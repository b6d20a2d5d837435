"""kill -9 of the messaging service during 1,000 concurrent message sends: no acknowledged
message is lost and none is duplicated (issue 10, "Done when")."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import httpx
from tests.system.kill_storm import kill_during_storm
from tests.system.listing import every_page
from tests.system.two_agents import workspace_with_two_agents

from agentplane.testing.system import RunningSystem

SENDS = 1000
# Sends in flight at once (kill_storm.py: the others wait on a semaphore).
CONNECTIONS = 64


def test_kill_9_of_messaging_during_1000_sends_loses_and_duplicates_nothing(
    system_factory: Callable[..., RunningSystem],
) -> None:
    system = system_factory()
    api_key, sender, recipient = workspace_with_two_agents(system)
    key = {"x-api-key": api_key}

    async def storm() -> tuple[dict[int, str], Counter]:
        acknowledged: dict[int, str] = {}
        statuses: Counter = Counter()
        first = asyncio.Event()

        async def one(client: httpx.AsyncClient, n: int) -> None:
            try:
                response = await client.post(
                    f"/v1/agents/{sender}/messages/send",
                    json={"toAgentId": recipient, "payload": {"n": n}},
                    headers=key,
                )
            except httpx.HTTPError:
                statuses["connection error"] += 1
                return
            statuses[response.status_code] += 1
            if response.status_code == 200:
                acknowledged[n] = response.json()["messageId"]
                first.set()

        await kill_during_storm(system, "messaging", SENDS, CONNECTIONS, one, first)
        return acknowledged, statuses

    acknowledged, statuses = asyncio.run(storm())
    assert acknowledged, statuses
    # Failures are clean answers while the service is down, never 500s.
    assert set(statuses) <= {200, 503, "connection error"}, statuses

    with httpx.Client(base_url=system.base_url, timeout=60) as http:
        inbox = f"/v1/agents/{recipient}/messages?unreadOnly=false&limit=500"
        listed: list[dict] = every_page(http, inbox, "messages", key)
    ids = [m["id"] for m in listed]
    numbers = [m["payload"]["n"] for m in listed]
    assert len(ids) == len(set(ids)), "a message is listed twice"
    assert len(numbers) == len(set(numbers)), "a send was recorded twice"
    missing = set(acknowledged.values()) - set(ids)
    assert not missing, f"{len(missing)} acknowledged messages lost ({statuses})"
    for message in listed:
        if message["payload"]["n"] in acknowledged:
            assert acknowledged[message["payload"]["n"]] == message["id"]
