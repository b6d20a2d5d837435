"""kill -9 of the registry during 1,000 concurrent `POST /v1/admin/workspaces` with
Idempotency-Keys, each retried until it answers: every workspace exists exactly once and every
client ends holding a working API key (issue 14, "no secret lost on a retry")."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from collections.abc import Callable

import httpx

from agentplane.testing.system import RunningSystem

CLIENTS = 1000
# Requests in flight at once (one per connection). The other clients wait on a semaphore,
# not in httpx's pool: its queue of waiting requests is rescanned on every change, so 1,000
# waiters cost the test's own process seconds of CPU per round, which on a busy machine
# delayed the first answer past two minutes while the system was idle.
CONNECTIONS = 100


async def _create_until_answered(
    client: httpx.AsyncClient,
    admin: str,
    name: str,
    created: asyncio.Event,
    statuses: Counter,
    gate: asyncio.Semaphore,
) -> dict[str, str]:
    key = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {admin}", "Idempotency-Key": key}
    while True:
        try:
            async with gate:
                response = await client.post(
                    "/v1/admin/workspaces", json={"name": name}, headers=headers
                )
        except httpx.HTTPError:
            statuses["connection error"] += 1
            await asyncio.sleep(0.2)
            continue
        statuses[response.status_code] += 1
        if response.status_code == 201:
            created.set()
            return dict(response.json())
        # Only "the registry is down, try again" may be retried; anything else is a failure.
        assert response.status_code == 503, response.text
        await asyncio.sleep(0.2)


def test_kill_9_of_registry_during_1000_idempotent_workspace_creates(
    system_factory: Callable[..., RunningSystem],
) -> None:
    system = system_factory()

    async def storm(names: list[str], statuses: Counter) -> list[dict[str, str]]:
        created = asyncio.Event()
        gate = asyncio.Semaphore(CONNECTIONS)
        limits = httpx.Limits(max_connections=CONNECTIONS)
        async with httpx.AsyncClient(base_url=system.base_url, timeout=60, limits=limits) as c:
            tasks = [
                asyncio.create_task(
                    _create_until_answered(c, system.admin_token, n, created, statuses, gate)
                )
                for n in names
            ]
            await asyncio.wait_for(created.wait(), 120)
            # Stopped first, so requests pile up in its connection: the clients are slower
            # than the registry, and otherwise little may be in flight at the kill's instant.
            system.signal_service("registry", signal.SIGSTOP)
            await asyncio.sleep(1.0)
            old_pid = system.signal_service("registry", signal.SIGKILL)
            answers = await asyncio.wait_for(asyncio.gather(*tasks), 600)
            await asyncio.to_thread(system.wait_restarted, "registry", old_pid)
            return answers

    # A busy machine may finish a storm before the kill lands: then the round proved nothing
    # and another one runs, until a kill interrupted requests in flight.
    for _ in range(3):
        statuses: Counter = Counter()
        names = [f"kill-{i}-{uuid.uuid4().hex[:6]}" for i in range(CLIENTS)]
        answers = asyncio.run(storm(names, statuses))
        if statuses[503] + statuses["connection error"] > 0:
            break
    assert statuses[503] + statuses["connection error"] > 0, f"no kill interrupted: {statuses}"
    assert [a["workspaceName"] for a in answers] == names, statuses
    assert len({a["workspaceId"] for a in answers}) == CLIENTS
    with httpx.Client(base_url=system.base_url, timeout=60) as http:
        for answer in answers:
            # The key each client holds works, and it names that client's workspace.
            listed = http.get("/v1/agents", headers={"x-api-key": answer["apiKey"]})
            assert listed.status_code == 200, (answer["workspaceName"], listed.text, statuses)
        # Exactly once: a plain create of any of those names conflicts.
        for name in names[:: CLIENTS // 20]:
            again = http.post(
                "/v1/admin/workspaces",
                json={"name": name},
                headers={"Authorization": f"Bearer {system.admin_token}"},
            )
            assert again.status_code == 409, again.text
