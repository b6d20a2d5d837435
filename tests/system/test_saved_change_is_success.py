"""A change the registry committed answers success even when its events cannot be published
yet: a 503 would make the client retry into a 409 and lose the one-time secret for good."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.testing.system import RunningSystem


async def _delete_events_stream(system: RunningSystem) -> None:
    nc = await system.nats_connect()
    try:
        await nc.jetstream().delete_stream(EVENTS_STREAM)
    finally:
        await nc.close()


def test_workspace_created_while_the_stream_is_gone_answers_201_with_a_working_key(
    system_factory: Callable[..., RunningSystem],
) -> None:
    system = system_factory()
    asyncio.run(_delete_events_stream(system))
    with httpx.Client(base_url=system.base_url, timeout=60) as http:
        created = http.post(
            "/v1/admin/workspaces",
            json={"name": "saved-while-stream-down"},
            headers={"Authorization": f"Bearer {system.admin_token}"},
        )
        # The relay cannot publish (no stream): the registry waits its bound, then answers.
        assert created.status_code == 201, created.text
        key = created.json()["apiKey"]
        listed = http.get("/v1/agents", headers={"x-api-key": key})
        assert listed.status_code == 200, listed.text
